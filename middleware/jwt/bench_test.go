package jwt_test

import (
	"context"
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/middleware/jwt"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// benchToken is a token of about 1 KiB (with RS256) from a, for audience "api".
func benchToken(a *testutil.Authority) string {
	return a.IssueToken(testutil.TokenClaims{
		Subject: "alice", Audience: []string{"api"}, Scope: "read write",
		Extra: map[string]any{"pad": strings.Repeat("x", 380)},
	})
}

func benchValidate(b *testing.B, opts testutil.Options, cfg jwt.Config, fresh bool) {
	a := testutil.NewAuthority(b, opts)
	cfg.Issuer, cfg.Audience, cfg.HTTPClient = a.Issuer(), []string{"api"}, a.Client()
	v, err := jwt.New(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(v.Close)
	tok := benchToken(a)
	subject := authority.NewSubjectToken(tok)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if fresh {
			// As the middleware does: one SubjectToken per request,
			// hashed by the validator.
			subject = authority.NewSubjectToken(tok)
		}
		if _, err := v.Validate(ctx, subject); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidateJWT is validation of a token of about 1 KiB with
// cached keys. "uncached" is full validation with the verified-token cache
// off: header decode, key lookup, signature verification, claims parse and
// checks. "first sight" is the same with the cache on and every lookup a
// miss (each entry outlives its maximum age at once): the lookup and the
// store added to full validation. "seen before" is a hit, with a new
// SubjectToken each time as the middleware makes one per request, so it
// includes the token's SHA-256, which "SHA-256 of the token" measures
// alone; "seen before hashed" is a hit with the SubjectToken's digest
// already computed: the cache's own cost.
func BenchmarkValidateJWT(b *testing.B) {
	for _, alg := range []testutil.Algorithm{testutil.RS256, testutil.ES256} {
		opts := testutil.Options{Algorithm: alg}
		b.Run(string(alg)+"/uncached", func(b *testing.B) {
			benchValidate(b, opts, jwt.Config{VerifiedCacheMaxEntries: -1}, false)
		})
		b.Run(string(alg)+"/first_sight", func(b *testing.B) {
			benchValidate(b, opts, jwt.Config{VerifiedCacheMaxAge: time.Nanosecond}, false)
		})
		b.Run(string(alg)+"/seen_before", func(b *testing.B) {
			benchValidate(b, opts, jwt.Config{}, true)
		})
		b.Run(string(alg)+"/seen_before_hashed", func(b *testing.B) {
			benchValidate(b, opts, jwt.Config{}, false)
		})
	}
	b.Run("SHA-256_of_the_token", func(b *testing.B) {
		a := testutil.NewAuthority(b, testutil.Options{})
		tok := []byte(benchToken(a))
		b.ReportAllocs()
		for b.Loop() {
			_ = sha256.Sum256(tok)
		}
		b.ReportMetric(float64(len(tok)), "token-bytes")
	})
}

// BenchmarkParseClaims is the claims parse of a first sight: a typical
// access token's claim set (about 450 bytes), read by
// middleware.ParseClaims.
func BenchmarkParseClaims(b *testing.B) {
	payload := []byte(`{"exp":4102444800,"iat":1893456000,"jti":"0b6f1c2e-8c1e-4b7e-9a51-6d0f3c2b7a90",` +
		`"iss":"https://auth.example.com/realms/shop","aud":["orders","account"],"sub":"f3b8a1c2-5d4e-4f6a-9b8c-7d6e5f4a3b2c",` +
		`"typ":"Bearer","azp":"web","session_state":"5c7e2f1a-3b4d-4e6f-8a9b-0c1d2e3f4a5b","acr":"1",` +
		`"realm_access":{"roles":["offline_access","uma_authorization"]},"scope":"openid profile email read write",` +
		`"email_verified":true,"name":"Alice Example","preferred_username":"alice","email":"alice@example.com"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := middleware.ParseClaims(payload); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(payload)), "payload-B")
}
