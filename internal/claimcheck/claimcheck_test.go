package claimcheck_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/go-tokenexchange/tokenexchange/internal/claimcheck"
	"github.com/go-tokenexchange/tokenexchange/middleware"
)

// TestMain fails the package's tests if any goroutine outlives them.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// check fails t unless e is nil when want is, or else a 401
// invalid_token refusal wrapping want with desc.
func check(t *testing.T, e *middleware.Error, want error, desc string) {
	t.Helper()
	if want == nil {
		if e != nil {
			t.Fatalf("refused: %v", e)
		}
		return
	}
	if e == nil {
		t.Fatalf("accepted, want %v", want)
	}
	if !errors.Is(e, want) || e.Code != middleware.CodeInvalidToken || e.Status != http.StatusUnauthorized || e.Description != desc {
		t.Fatalf("got %v (code %q, status %d, %q), want %v, %q", e, e.Code, e.Status, e.Description, want, desc)
	}
}

func TestIssuerAudience(t *testing.T) {
	for _, tc := range []struct {
		name      string
		claims    middleware.Claims
		audiences []string
		want      error
		desc      string
	}{
		{name: "accepted", claims: middleware.Claims{Issuer: "https://as", Audience: []string{"x", "api"}}, audiences: []string{"api"}},
		{name: "any audience", claims: middleware.Claims{Issuer: "https://as"}},
		{name: "no issuer", claims: middleware.Claims{Audience: []string{"api"}}, audiences: []string{"api"}, want: middleware.ErrMissingClaim, desc: "token has no issuer"},
		{name: "other issuer", claims: middleware.Claims{Issuer: "https://evil", Audience: []string{"api"}}, audiences: []string{"api"}, want: middleware.ErrInvalidIssuer, desc: "issuer mismatch"},
		{name: "no audience", claims: middleware.Claims{Issuer: "https://as"}, audiences: []string{"api"}, want: middleware.ErrMissingClaim, desc: "token has no audience"},
		{name: "other audience", claims: middleware.Claims{Issuer: "https://as", Audience: []string{"web"}}, audiences: []string{"api"}, want: middleware.ErrInvalidAudience, desc: "audience mismatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			check(t, claimcheck.IssuerAudience(&tc.claims, "https://as", tc.audiences), tc.want, tc.desc)
		})
	}
}

func TestTimes(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	const leeway = 30 * time.Second
	for _, tc := range []struct {
		name   string
		claims middleware.Claims
		want   error
		desc   string
	}{
		{name: "no time claims"},
		{name: "valid", claims: middleware.Claims{Expiry: now.Add(time.Minute), NotBefore: now.Add(-time.Minute), IssuedAt: now.Add(-time.Minute)}},
		{name: "expired within the leeway", claims: middleware.Claims{Expiry: now.Add(-leeway + time.Nanosecond)}},
		{name: "expired at the leeway", claims: middleware.Claims{Expiry: now.Add(-leeway)}, want: middleware.ErrExpired, desc: "token expired"},
		{name: "nbf within the leeway", claims: middleware.Claims{NotBefore: now.Add(leeway)}},
		{name: "nbf beyond the leeway", claims: middleware.Claims{NotBefore: now.Add(leeway + time.Nanosecond)}, want: middleware.ErrNotYetValid, desc: "token not yet valid"},
		{name: "iat within the leeway", claims: middleware.Claims{IssuedAt: now.Add(leeway)}},
		{name: "iat beyond the leeway", claims: middleware.Claims{IssuedAt: now.Add(leeway + time.Nanosecond)}, want: middleware.ErrNotYetValid, desc: "token issued in the future"},
		{name: "expired first", claims: middleware.Claims{Expiry: now.Add(-time.Hour), NotBefore: now.Add(time.Hour)}, want: middleware.ErrExpired, desc: "token expired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			check(t, claimcheck.Times(&tc.claims, now, leeway), tc.want, tc.desc)
		})
	}
}

func TestPolicy(t *testing.T) {
	own := &middleware.Error{Code: middleware.CodeInsufficientScope, Description: "needs admin", Status: http.StatusForbidden}
	other := errors.New("tenant suspended")
	for _, tc := range []struct {
		name  string
		check func(context.Context, *middleware.Claims) error
		want  *middleware.Error // nil: accepted, or (with rejected) a rejection
		wrap  error
	}{
		{name: "no policy"},
		{name: "accepted", check: func(context.Context, *middleware.Claims) error { return nil }},
		{name: "its own refusal", check: func(context.Context, *middleware.Claims) error { return own }, want: own},
		{name: "its own refusal wrapped", check: func(context.Context, *middleware.Claims) error { return errors.Join(other, own) }, want: own},
		{name: "another error", check: func(context.Context, *middleware.Claims) error { return other }, wrap: other},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := claimcheck.Policy(context.Background(), tc.check, &middleware.Claims{})
			switch {
			case tc.want != nil:
				if e != tc.want {
					t.Fatalf("got %v, want the policy's own %v", e, tc.want)
				}
			case tc.wrap != nil:
				check(t, e, middleware.ErrRejected, "token rejected by policy")
				if !errors.Is(e, tc.wrap) {
					t.Fatalf("%v does not wrap the policy's error", e)
				}
			default:
				check(t, e, nil, "")
			}
		})
	}
}
