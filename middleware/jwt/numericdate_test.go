package jwt_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/middleware/jwt"
)

const ownIssuer = "https://issuer.example"

// ownKeyValidator returns a Validator for issuer ownIssuer and audience
// "api", trusting one ES256 key published by a bare JWKS server, and a
// function that signs a raw claims payload with it.
func ownKeyValidator(t *testing.T, now time.Time) (*jwt.Validator, func(payload string) string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	pub, err := jwk.FromRaw(&priv.PublicKey)
	require.NoError(t, err)
	require.NoError(t, pub.Set(jwk.KeyIDKey, "k1"))
	set := jwk.NewSet()
	require.NoError(t, set.AddKey(pub))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(srv.Close)
	v, err := jwt.New(context.Background(), jwt.Config{
		Issuer: ownIssuer, JWKSURL: srv.URL, Audience: []string{"api"}, HTTPClient: srv.Client(),
		Now: func() time.Time { return now },
	})
	require.NoError(t, err)
	t.Cleanup(v.Close)
	signer, err := jws.NewSigner(jwa.ES256)
	require.NoError(t, err)
	return v, func(payload string) string {
		return craftRaw(t, map[string]any{"alg": jwa.ES256, "kid": "k1"}, []byte(payload), func(in []byte) []byte {
			sig, err := signer.Sign(in, priv)
			require.NoError(t, err)
			return sig
		})
	}
}

// TestValidateNumericDate checks that "exp", "nbf" and "iat" must be JSON
// numbers (RFC 7519 §2): jwx would read a string of digits, or an RFC 3339
// date, as a time, where the exchanger ignored it. The cases are those of
// internal/numericdate's TestParse.
func TestValidateNumericDate(t *testing.T) {
	now := time.Unix(1700000000, 0)
	v, sign := ownKeyValidator(t, now)
	good := map[string]string{"exp": "1700003600", "nbf": "1699999000", "iat": "1699999000"}
	values := []struct {
		raw    string
		reason string // "" when the value is a valid NumericDate for that claim
	}{
		{"1700003600", ""},
		{"1700003600.5", ""},
		{"1.7000036e9", ""},
		{"1.7000036E+9", ""},
		{`"1700003600"`, "a string"},
		{`"2030-01-02T03:04:05Z"`, "a string"},
		{"true", "a boolean"},
		{"null", "null"},
		{`{"n":1700003600}`, "an object"},
		{"[1700003600]", "an array"},
		{"-1", "negative"},
		{"9007199254740992", "too large"},
		{"1e300", "too large"},
	}
	for _, claim := range []string{"exp", "nbf", "iat"} {
		for _, val := range values {
			t.Run(claim+"="+val.raw, func(t *testing.T) {
				raw := val.raw
				if claim != "exp" && val.reason == "" {
					raw = good[claim] // nbf and iat must not be in the future
				}
				var fields []string
				for _, c := range []string{"exp", "nbf", "iat"} {
					r := good[c]
					if c == claim {
						r = raw
					}
					fields = append(fields, fmt.Sprintf("%q:%s", c, r))
				}
				tok := sign(fmt.Sprintf(`{"iss":%q,"aud":"api",%s}`, ownIssuer, strings.Join(fields, ",")))
				_, err := v.Validate(context.Background(), sub(tok))
				if val.reason == "" {
					require.NoError(t, err)
					return
				}
				require.ErrorIs(t, err, middleware.ErrInvalidClaim)
				var me *middleware.Error
				require.True(t, errors.As(err, &me))
				assert.Equal(t, http.StatusUnauthorized, me.Status)
				assert.Equal(t, middleware.CodeInvalidToken, me.Code)
				// The reason names the claim and the kind of value, never
				// the value or the token.
				assert.Equal(t, fmt.Sprintf("claim %q is not a NumericDate (RFC 7519 §2): %s", claim, val.reason), me.Description)
				assert.NotContains(t, err.Error(), tok)
			})
		}
	}
}

// TestValidateClaimTypes pins that the other registered claims are strict
// too (middleware.ParseClaims reads them): a non-string "iss", "sub" or
// "jti", and an "aud" that is neither a string nor an array of strings, are
// refused with ErrInvalidClaim, whose description names the claim.
func TestValidateClaimTypes(t *testing.T) {
	now := time.Unix(1700000000, 0)
	v, sign := ownKeyValidator(t, now)
	tests := []struct {
		name    string
		payload string
		wantErr error
	}{
		{"good, aud array", `{"iss":"` + ownIssuer + `","aud":["x","api"],"exp":1700003600}`, nil},
		{"iss number", `{"iss":1,"aud":"api","exp":1700003600}`, middleware.ErrInvalidClaim},
		{"iss array", `{"iss":["` + ownIssuer + `"],"aud":"api","exp":1700003600}`, middleware.ErrInvalidClaim},
		{"aud number", `{"iss":"` + ownIssuer + `","aud":1,"exp":1700003600}`, middleware.ErrInvalidClaim},
		{"aud with a number", `{"iss":"` + ownIssuer + `","aud":["api",1],"exp":1700003600}`, middleware.ErrInvalidClaim},
		{"aud object", `{"iss":"` + ownIssuer + `","aud":{"api":true},"exp":1700003600}`, middleware.ErrInvalidClaim},
		{"sub number", `{"iss":"` + ownIssuer + `","aud":"api","sub":7,"exp":1700003600}`, middleware.ErrInvalidClaim},
		{"jti object", `{"iss":"` + ownIssuer + `","aud":"api","jti":{},"exp":1700003600}`, middleware.ErrInvalidClaim},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Validate(context.Background(), sub(sign(tt.payload)))
			if tt.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.wantErr)
		})
	}
}
