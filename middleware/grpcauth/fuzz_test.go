package grpcauth_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/middleware/grpcauth"
)

// fixedMessages are every message a refusal may carry.
var fixedMessages = []string{
	"grpcauth: bearer token required",
	"grpcauth: authorization scheme must be Bearer",
	"grpcauth: malformed authorization metadata",
	"grpcauth: more than one authorization value",
	"grpcauth: bearer token too large",
	"grpcauth: invalid bearer token",
}

// FuzzUnary feeds the unary interceptor arbitrary authorization metadata
// (one value, or the same twice): it never panics, a refusal is
// Unauthenticated with one of the fixed messages, and an accepted value
// is "Bearer" (any case), spaces and the token the handler gets.
func FuzzUnary(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer  a.b-c_d~e+f/g==", "Basic abc", "", "Bearer", "Bearer a b", "Bearer \tx", "Bearer ===", "Bearer é"} {
		f.Add(s, false)
	}
	f.Add("Bearer abc", true)
	auth := grpcauth.New(grpcauth.Options{MaxTokenSize: 64})
	info := &grpc.UnaryServerInfo{FullMethod: "/x.Y/Z"}
	f.Fuzz(func(t *testing.T, value string, twice bool) {
		md := metadata.MD{"authorization": {value}}
		if twice {
			md["authorization"] = append(md["authorization"], value)
		}
		ctx := metadata.NewIncomingContext(context.Background(), md)
		var got string
		var reached bool
		_, err := auth.Unary(ctx, nil, info, func(ctx context.Context, _ any) (any, error) {
			got, _ = middleware.TokenFromContext(ctx)
			reached = true
			return nil, nil
		})
		if err != nil {
			st := status.Convert(err)
			if st.Code() != codes.Unauthenticated || !slices.Contains(fixedMessages, st.Message()) {
				t.Fatalf("refusal %v %q", st.Code(), st.Message())
			}
			if reached {
				t.Fatal("handler reached on a refusal")
			}
			return
		}
		scheme, rest, ok := strings.Cut(value, " ")
		if twice || !ok || !strings.EqualFold(scheme, "bearer") || strings.TrimLeft(rest, " ") != got || got == "" || len(got) > 64 {
			t.Fatalf("accepted %q as %q", value, got)
		}
	})
}
