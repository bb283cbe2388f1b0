package jwt_test

import (
	"context"
	"testing"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/middleware/jwt"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

func benchValidate(b *testing.B, opts testutil.Options) {
	a := testutil.NewAuthority(b, opts)
	v, err := jwt.New(context.Background(), jwt.Config{
		Issuer: a.Issuer(), Audience: []string{"api"}, HTTPClient: a.Client(),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(v.Close)
	tok := a.IssueToken(testutil.TokenClaims{Subject: "alice", Audience: []string{"api"}, Scope: "read write"})
	subject := authority.NewSubjectToken(tok)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Validate(ctx, subject); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidateJWT is full validation with cached keys: header decode,
// key lookup, signature verification, claims parse and checks.
func BenchmarkValidateJWT(b *testing.B) {
	b.Run("RS256", func(b *testing.B) { benchValidate(b, testutil.Options{}) })
	b.Run("ES256", func(b *testing.B) { benchValidate(b, testutil.Options{Algorithm: "ES256"}) })
}
