package grpcauth_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCorePackagesDoNotImportGRPC pins that only the gRPC subpackages
// import google.golang.org/grpc: a user of the core packages compiles no
// gRPC.
func TestCorePackagesDoNotImportGRPC(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	const module = "github.com/go-tokenexchange/tokenexchange/"
	pkgs := []string{"middleware", "middleware/jwt", "middleware/introspect", "outbound", "exchange", "exchange/rediscache", "authority"}
	args := []string{"list", "-deps"}
	for _, p := range pkgs {
		args = append(args, module+p)
	}
	out, err := exec.Command("go", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "google.golang.org/grpc") || strings.HasPrefix(dep, "google.golang.org/genproto") {
			t.Errorf("%s is a dependency of the core packages", dep)
		}
	}
}
