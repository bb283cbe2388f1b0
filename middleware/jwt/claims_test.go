package jwt_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/middleware/jwt"
)

// Claims testutil always sets (exp, iss) are checked with a key of our own,
// published by a bare JWKS server.
func TestValidateRequiredClaims(t *testing.T) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	pub, err := jwk.FromRaw(&priv.PublicKey)
	require.NoError(t, err)
	require.NoError(t, pub.Set(jwk.KeyIDKey, "k1"))
	require.NoError(t, pub.Set(jwk.AlgorithmKey, jwa.PS256)) // the key is for PS256 only
	set := jwk.NewSet()
	require.NoError(t, set.AddKey(pub))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(srv.Close)

	const issuer = "https://issuer.example"
	v, err := jwt.New(context.Background(), jwt.Config{
		Issuer: issuer, JWKSURL: srv.URL, Audience: []string{"api"},
	})
	require.NoError(t, err)
	t.Cleanup(v.Close)
	sign := func(alg jwa.SignatureAlgorithm) func([]byte) []byte {
		return func(in []byte) []byte {
			s, err := jws.NewSigner(alg)
			require.NoError(t, err)
			sig, err := s.Sign(in, priv)
			require.NoError(t, err)
			return sig
		}
	}
	exp := time.Now().Add(time.Hour).Unix()
	for _, tc := range []struct {
		name    string
		alg     jwa.SignatureAlgorithm
		kid     string
		claims  map[string]any
		wantErr error
	}{
		{"good", jwa.PS256, "k1", map[string]any{"iss": issuer, "aud": []string{"api"}, "exp": exp}, nil},
		{"no kid, single key", jwa.PS256, "", map[string]any{"iss": issuer, "aud": "api", "exp": exp}, nil},
		{"no exp", jwa.PS256, "k1", map[string]any{"iss": issuer, "aud": "api"}, middleware.ErrMissingClaim},
		{"no iss", jwa.PS256, "k1", map[string]any{"aud": "api", "exp": exp}, middleware.ErrMissingClaim},
		{"key alg mismatch", jwa.RS256, "k1", map[string]any{"iss": issuer, "aud": "api", "exp": exp}, middleware.ErrUnknownKey},
		{"array payload", jwa.PS256, "k1", nil, middleware.ErrMalformedToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]any{"alg": tc.alg}
			if tc.kid != "" {
				hdr["kid"] = tc.kid
			}
			var tok string
			if tc.claims == nil {
				tok = craftRaw(t, hdr, []byte(`["x"]`), sign(tc.alg))
			} else {
				tok = craft(t, hdr, tc.claims, sign(tc.alg))
			}
			_, err := v.Validate(context.Background(), sub(tok))
			if tc.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.wantErr)
		})
	}
}
