package jwt_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/middleware/jwt"
)

// fuzzNow is the fixed clock of FuzzVerifiedCache, so that the seed
// corpus's tokens (which expire in 2100) keep their meaning.
var fuzzNow = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// fuzzKey is a fixed Ed25519 key: its signatures are deterministic, so
// the seed corpus in testdata holds tokens that verify.
func fuzzKey() ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed([]byte("tokenexchange-fuzz-verified-key!"))
}

// fuzzSeeds are valid tokens and near misses signed by fuzzKey.
func fuzzSeeds(t testing.TB) []string {
	sign := signer(t, jwa.EdDSA, fuzzKey())
	hdr := map[string]any{"alg": "EdDSA", "kid": "k1"}
	claims := func(edit func(map[string]any)) map[string]any {
		c := map[string]any{"iss": testIssuer, "aud": "api", "sub": "alice", "exp": 4102444800, "iat": 1893456000, "scope": "read write"}
		if edit != nil {
			edit(c)
		}
		return c
	}
	return []string{
		craft(t, hdr, claims(nil), sign),
		craft(t, map[string]any{"alg": "EdDSA"}, claims(func(c map[string]any) { c["aud"] = []string{"x", "api"} }), sign),
		craft(t, hdr, claims(func(c map[string]any) { c["nbf"] = 1893456000 + 20 }), sign),   // within the leeway
		craft(t, hdr, claims(func(c map[string]any) { c["exp"] = 1893456000 - 10 }), sign),   // expired, within the leeway
		craft(t, hdr, claims(func(c map[string]any) { c["exp"] = 1893456000 - 3600 }), sign), // expired
		craft(t, hdr, claims(func(c map[string]any) { c["nbf"] = 1893456000 + 3600 }), sign), // not yet valid
		craft(t, hdr, claims(func(c map[string]any) { c["sub"] = "xavier" }), sign),          // refused by policy
		craft(t, hdr, claims(func(c map[string]any) { c["aud"] = "other" }), sign),           // wrong audience
		craft(t, hdr, claims(func(c map[string]any) { c["scp"] = []string{"admin"}; c["jti"] = "1" }), sign),
		craft(t, hdr, claims(func(c map[string]any) { c["exp"] = "4102444800" }), sign), // a string
	}
}

// FuzzVerifiedCache checks, for every input, that a validator with the
// verified-token cache, asked twice (the second time from its cache when
// it accepted the token), agrees with a validator without it: the same
// acceptance, the same claims, the same refusal. Seeds: testdata/fuzz/
// FuzzVerifiedCache (valid tokens and near misses signed by fuzzKey) and
// fuzzSeeds.
func FuzzVerifiedCache(f *testing.F) {
	url, _ := serveKeys(f, pubJWK(f, fuzzKey().Public(), "k1", ""))
	policy := func(_ context.Context, c *middleware.Claims) error {
		if strings.HasPrefix(c.Subject, "x") {
			return errors.New("no x")
		}
		return nil
	}
	cfg := jwt.Config{Now: func() time.Time { return fuzzNow }, CheckClaims: policy}
	cached := staticValidator(f, url, cfg)
	cfg.VerifiedCacheMaxEntries = -1
	uncached := staticValidator(f, url, cfg)
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, token string) {
		want, wantErr := uncached.Validate(ctx, sub(token))
		for i := range 2 {
			got, err := cached.Validate(ctx, sub(token))
			if wantErr != nil {
				require.Error(t, err, "call %d: the cache accepted what the validator refuses (%v)", i, wantErr)
				require.Nil(t, got)
				require.Equal(t, wantErr.Error(), err.Error(), "call %d", i)
				continue
			}
			require.NoError(t, err, "call %d", i)
			require.Equal(t, want, got, "call %d", i)
		}
	})
}

// The seeds of FuzzVerifiedCache mean what they say: the valid ones are
// accepted on the fuzz target's clock, the others refused, so the
// corpus exercises the cached path.
func TestFuzzVerifiedCacheSeeds(t *testing.T) {
	url, _ := serveKeys(t, pubJWK(t, fuzzKey().Public(), "k1", ""))
	v := staticValidator(t, url, jwt.Config{Now: func() time.Time { return fuzzNow }})
	accepted := map[int]bool{0: true, 1: true, 2: true, 3: true, 6: true, 8: true}
	for i, s := range fuzzSeeds(t) {
		_, err := v.Validate(context.Background(), sub(s))
		require.Equal(t, accepted[i], err == nil, "seed %d: %v", i, err)
	}
}
