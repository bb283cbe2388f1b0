package middleware_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/middleware"
)

func TestContextHelpers(t *testing.T) {
	ctx := context.Background()
	_, ok := middleware.TokenFromContext(ctx)
	assert.False(t, ok)
	_, ok = middleware.ClaimsFromContext(ctx)
	assert.False(t, ok)

	_, ok = middleware.TokenFromContext(middleware.NewContext(ctx, ""))
	assert.False(t, ok, "an empty token is no token")

	type otherKey struct{}
	ctx = context.WithValue(ctx, otherKey{}, "v")
	ctx = middleware.NewContext(ctx, "s3cr3t-token")
	tok, ok := middleware.TokenFromContext(ctx)
	assert.True(t, ok)
	assert.Equal(t, "s3cr3t-token", tok)
	assert.Equal(t, "v", ctx.Value(otherKey{}), "parent values stay reachable")
	_, ok = middleware.ClaimsFromContext(ctx)
	assert.False(t, ok)

	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		assert.NotContains(t, fmt.Sprintf(verb, ctx), "s3cr3t", verb)
	}

	ctx2, cancel := context.WithCancel(ctx)
	cancel()
	<-ctx2.Done()
	tok, _ = middleware.TokenFromContext(ctx2)
	assert.Equal(t, "s3cr3t-token", tok)

	allocs := testing.AllocsPerRun(100, func() { _, _ = middleware.TokenFromContext(ctx2) })
	assert.Zero(t, allocs, "TokenFromContext must not allocate")
}

func TestSubjectFromContext(t *testing.T) {
	ctx := context.Background()
	assert.False(t, middleware.IsInbound(ctx))
	_, ok := middleware.SubjectFromContext(ctx)
	assert.False(t, ok)

	subject := authority.NewSubjectToken("s3cr3t-token")
	ctx = middleware.NewSubjectContext(ctx, subject)
	got, ok := middleware.SubjectFromContext(ctx)
	require.True(t, ok)
	assert.Equal(t, subject.Digest(), got.Digest())
	assert.Equal(t, "s3cr3t-token", got.Value())
	assert.True(t, middleware.IsInbound(ctx))
	assert.Equal(t, 0, int(testing.AllocsPerRun(100, func() { _, _ = middleware.SubjectFromContext(ctx) })))
}

// TestContextMarksInboundRequests checks that the middleware marks the
// context of every request it passes on, an anonymous one too, so that an
// outbound transport can tell an anonymous caller from a handler that used
// another context.
func TestContextMarksInboundRequests(t *testing.T) {
	var inbound, hasSubject bool
	var subject authority.SubjectToken
	h := middleware.Bearer(middleware.Options{Optional: true})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inbound = middleware.IsInbound(r.Context())
		subject, hasSubject = middleware.SubjectFromContext(r.Context())
	}))
	for _, tt := range []struct {
		name   string
		header string
		want   bool
	}{
		{"anonymous", "", false},
		{"bearer", "Bearer abc.def", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			assert.True(t, inbound)
			assert.Equal(t, tt.want, hasSubject)
			if tt.want {
				assert.Equal(t, sha256.Sum256([]byte("abc.def")), subject.Digest())
			}
		})
	}
}

// TestNewContextOneAllocation checks that NewContext costs one allocation,
// the SubjectToken included, and that the token's digest is shared by
// every reader of the context.
func TestNewContextOneAllocation(t *testing.T) {
	parent := context.Background()
	allocs := testing.AllocsPerRun(100, func() {
		ctx := middleware.NewContext(parent, "s3cr3t-token")
		if _, ok := middleware.SubjectFromContext(ctx); !ok {
			t.Fatal("no subject")
		}
	})
	assert.Equal(t, 1, int(allocs))

	ctx := middleware.NewContext(parent, "s3cr3t-token")
	a, _ := middleware.SubjectFromContext(ctx)
	b, _ := middleware.SubjectFromContext(ctx)
	assert.Equal(t, sha256.Sum256([]byte("s3cr3t-token")), a.Digest())
	assert.Equal(t, a.Digest(), b.Digest())
}

// digestValidator accepts every token and remembers the digest it saw.
type digestValidator struct{ seen [sha256.Size]byte }

func (v *digestValidator) Validate(_ context.Context, tok authority.SubjectToken) (*middleware.Claims, error) {
	v.seen = tok.Digest()
	return &middleware.Claims{Subject: "alice"}, nil
}

// TestBearerSharesSubjectWithValidator checks that the handler sees the
// SubjectToken the validator saw (the same token and digest) and the
// validator's claims.
func TestBearerSharesSubjectWithValidator(t *testing.T) {
	tests := []struct {
		name      string
		validator *digestValidator
	}{
		{"no validator", nil},
		{"validator", &digestValidator{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := middleware.Options{}
			if tc.validator != nil {
				opts.Validator = tc.validator
			}
			var (
				got    authority.SubjectToken
				claims *middleware.Claims
			)
			h := middleware.Bearer(opts)(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				got, _ = middleware.SubjectFromContext(r.Context())
				claims, _ = middleware.ClaimsFromContext(r.Context())
			}))
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.Header.Set("Authorization", "Bearer s3cr3t-token")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			require.Equal(t, http.StatusOK, w.Code)
			assert.Equal(t, "s3cr3t-token", got.Value())
			assert.Equal(t, sha256.Sum256([]byte("s3cr3t-token")), got.Digest())
			if tc.validator == nil {
				assert.Nil(t, claims)
				return
			}
			assert.Equal(t, tc.validator.seen, got.Digest())
			require.NotNil(t, claims)
			assert.Equal(t, "alice", claims.Subject)
		})
	}
}
