package middleware_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// BenchmarkParseAndStore measures the middleware with validation off: header
// parse, query check, context store and the handler's TokenFromContext.
func BenchmarkParseAndStore(b *testing.B) {
	var got string
	h := middleware.Bearer(middleware.Options{})(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		got, _ = middleware.TokenFromContext(r.Context())
	}))
	req := httptest.NewRequest(http.MethodGet, "/resource?page=2", nil)
	req.Header.Set("Authorization", "Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl")
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
	if got == "" {
		b.Fatal("no token")
	}
}

// BenchmarkTokenFromContext is the read on every outbound call.
func BenchmarkTokenFromContext(b *testing.B) {
	ctx := middleware.NewContext(context.Background(), "token")
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := middleware.TokenFromContext(ctx); !ok {
			b.Fatal("no token")
		}
	}
}

func benchValidate(b *testing.B, opts testutil.Options) {
	a := testutil.NewAuthority(b, opts)
	v, err := middleware.NewValidator(context.Background(), middleware.ValidatorConfig{
		Issuer: a.Issuer(), Audience: []string{"api"}, HTTPClient: a.Client(),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(v.Close)
	tok := a.IssueToken(testutil.TokenClaims{Subject: "alice", Audience: []string{"api"}, Scope: "read write"})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Validate(ctx, tok); err != nil {
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
