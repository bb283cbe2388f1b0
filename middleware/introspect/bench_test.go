package introspect_test

import (
	"context"
	"strings"
	"testing"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/middleware/introspect"
	"github.com/go-tokenexchange/tokenexchange/middleware/jwt"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// benchSetup is an authority with the gateway client, an introspection
// Validator and a JWT Validator (default config) for audience "api", and
// a token of about 1 KiB (RS256) both accept: the same token, so of the
// same length.
func benchSetup(b *testing.B, jwtCfg jwt.Config) (a *testutil.Authority, iv *introspect.Validator, jv *jwt.Validator, token string) {
	a = testutil.NewAuthority(b, testutil.Options{})
	a.AddClient(testutil.Client{ID: "gateway", Secret: "gateway-secret"})
	client, err := authority.New(authority.Config{Issuer: a.Issuer(), ClientID: "gateway", ClientSecret: "gateway-secret", HTTPClient: a.Client()})
	if err != nil {
		b.Fatal(err)
	}
	iv, err = introspect.New(context.Background(), introspect.Config{Client: client, Audience: []string{"api"}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(iv.Close)
	jwtCfg.Issuer, jwtCfg.Audience, jwtCfg.HTTPClient = a.Issuer(), []string{"api"}, a.Client()
	jv, err = jwt.New(context.Background(), jwtCfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(jv.Close)
	token = a.IssueToken(testutil.TokenClaims{
		Subject: "alice", Audience: []string{"api"}, Scope: "read write",
		Extra: map[string]any{"pad": strings.Repeat("x", 380)},
	})
	return a, iv, jv, token
}

// runValidate validates token with v b.N times, with a new SubjectToken
// each time as the middleware makes one per request (so the token's
// SHA-256 is in each), or with a new token from next each time.
func runValidate(b *testing.B, v middleware.Validator, token string, next func() string) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		tok := token
		if next != nil {
			tok = next()
		}
		if _, err := v.Validate(ctx, authority.NewSubjectToken(tok)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCachedHit compares, side by side, a token seen before by the
// introspection Validator (an answer from its cache) and by the JWT
// Validator with its default config (a verified-token cache hit): the
// same token, with a new SubjectToken (and so one SHA-256) per request.
func BenchmarkCachedHit(b *testing.B) {
	_, iv, jv, token := benchSetup(b, jwt.Config{})
	for _, c := range []struct {
		name string
		v    middleware.Validator
	}{{"introspection", iv}, {"jwt", jv}} {
		v := c.v
		b.Run(c.name, func(b *testing.B) {
			if _, err := v.Validate(context.Background(), authority.NewSubjectToken(token)); err != nil {
				b.Fatal(err)
			}
			runValidate(b, v, token, nil)
		})
	}
}

// BenchmarkMiss compares a token never seen before: "introspection" asks
// the testutil authority on loopback (the HTTP round trip, its client
// authentication, the authority's own work and the checks) for a new
// opaque token each time; "jwt" validates a JWT in full (the verified-token
// cache off: signature verification, claims parse and checks).
func BenchmarkMiss(b *testing.B) {
	a, iv, _, token := benchSetup(b, jwt.Config{})
	_, _, jvUncached, _ := benchSetupOn(b, a)
	b.Run("introspection", func(b *testing.B) {
		runValidate(b, iv, "", func() string {
			return a.IssueOpaqueToken(testutil.TokenClaims{Subject: "alice", Audience: []string{"api"}, Scope: "read write"})
		})
	})
	b.Run("jwt", func(b *testing.B) {
		runValidate(b, jvUncached, token, nil)
	})
}

// benchSetupOn returns a JWT Validator of a with the verified-token cache
// off.
func benchSetupOn(b *testing.B, a *testutil.Authority) (*testutil.Authority, *introspect.Validator, *jwt.Validator, string) {
	jv, err := jwt.New(context.Background(), jwt.Config{Issuer: a.Issuer(), Audience: []string{"api"}, HTTPClient: a.Client(), VerifiedCacheMaxEntries: -1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(jv.Close)
	return a, nil, jv, ""
}
