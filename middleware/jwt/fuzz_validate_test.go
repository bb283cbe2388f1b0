package jwt_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"

	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/middleware/jwt"
)

// FuzzValidate feeds arbitrary strings to Validate against a static key set:
// it must never panic, never accept one, and answer with an *Error that does
// not echo the input. The seed corpus is in testdata/fuzz/FuzzValidate; a few
// well-formed but unacceptable tokens signed by the set's key are added here.
func FuzzValidate(f *testing.F) {
	key := rsaKey(f)
	url, _ := serveKeys(f, pubJWK(f, key, "k1", ""))
	v := staticValidator(f, url, jwt.Config{})
	sign := signer(f, jwa.RS256, key)
	expired := goodClaims()
	expired["exp"] = time.Now().Add(-time.Hour).Unix()
	f.Add(craft(f, map[string]any{"alg": "RS256", "kid": "k1"}, expired, sign))
	f.Add(craft(f, map[string]any{"alg": "RS256", "kid": "k1"}, map[string]any{"iss": testIssuer, "aud": []string{"other"}, "exp": time.Now().Add(time.Hour).Unix()}, sign))
	f.Add(craft(f, map[string]any{"alg": "RS256"}, map[string]any{"iss": testIssuer}, sign))
	f.Add(craftRaw(f, map[string]any{"alg": "RS256", "kid": "k1"}, []byte(`[1,2]`), sign))
	f.Add(tamper(craft(f, map[string]any{"alg": "RS256", "kid": "k1"}, goodClaims(), sign)))

	ctx := context.Background()
	f.Fuzz(func(t *testing.T, token string) {
		claims, err := v.Validate(ctx, sub(token))
		if err == nil || claims != nil {
			t.Fatalf("Validate(%q) = %v, %v: accepted", token, claims, err)
		}
		var e *middleware.Error
		if !errors.As(err, &e) {
			t.Fatalf("error %T %v is not an *Error", err, err)
		}
		if e.Code != middleware.CodeInvalidToken || e.Status != 401 || e.Description == "" {
			t.Fatalf("unexpected refusal %+v", e)
		}
		if len(token) > 12 && strings.Contains(err.Error(), token) {
			t.Fatalf("error %q echoes the token", err)
		}
	})
}
