package gateway

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"
)

func TestConfigPrintsNoSecret(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	d := key.D.Bytes()
	cfg := Config{ClientID: "gateway", ClientSecret: "the-client-secret", ClientKey: key}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		out := fmt.Sprintf(verb, cfg)
		if strings.Contains(out, "the-client-secret") || strings.Contains(out, fmt.Sprint(d)) || strings.Contains(out, fmt.Sprintf("%x", d)) {
			t.Errorf("%s prints a secret: %s", verb, out)
		}
		if !strings.Contains(out, "gateway") || !strings.Contains(out, "ClientSecret:[redacted]") || !strings.Contains(out, "ClientKey:[redacted]") {
			t.Errorf("%s: %s", verb, out)
		}
	}
}
