package middleware_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

func TestUnknownKidRefetchesOnce(t *testing.T) {
	a, v, ct := newValidator(t, middleware.ValidatorConfig{MinRefetchInterval: time.Hour})
	ctx := context.Background()
	require.Equal(t, 1, ct.count("/jwks"), "one fetch at construction")
	require.Equal(t, 1, ct.count("/.well-known/openid-configuration"))

	// A kid the authority does not publish: one refetch, then refused.
	kid := a.RotateKey()
	a.RemoveKey(kid)
	_, err := v.Validate(ctx, a.IssueToken(testutil.TokenClaims{Audience: []string{"api"}}))
	require.ErrorIs(t, err, middleware.ErrUnknownKey)
	assert.Equal(t, 2, ct.count("/jwks"), "exactly one refetch")

	// Another unknown kid within MinRefetchInterval: no fetch.
	kid = a.RotateKey()
	a.RemoveKey(kid)
	_, err = v.Validate(ctx, a.IssueToken(testutil.TokenClaims{Audience: []string{"api"}}))
	require.ErrorIs(t, err, middleware.ErrUnknownKey)
	var e *middleware.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "unknown signing key", e.Description)
	assert.Equal(t, 2, ct.count("/jwks"), "rate limited")

	// Even a genuinely new key waits for the interval.
	a.RotateKey()
	_, err = v.Validate(ctx, a.IssueToken(testutil.TokenClaims{Audience: []string{"api"}}))
	require.ErrorIs(t, err, middleware.ErrUnknownKey)
	assert.Equal(t, 2, ct.count("/jwks"))
}

func TestKeyRotation(t *testing.T) {
	a, v, ct := newValidator(t, middleware.ValidatorConfig{MinRefetchInterval: time.Nanosecond})
	ctx := context.Background()
	old := a.IssueToken(testutil.TokenClaims{Audience: []string{"api"}})
	_, err := v.Validate(ctx, old)
	require.NoError(t, err)

	oldKid := a.ActiveKeyID()
	a.RotateKey()
	fresh := a.IssueToken(testutil.TokenClaims{Audience: []string{"api"}})
	_, err = v.Validate(ctx, fresh)
	require.NoError(t, err, "new key accepted after a refetch")
	assert.Equal(t, 2, ct.count("/jwks"))
	_, err = v.Validate(ctx, old)
	require.NoError(t, err, "old key still published")
	_, err = v.Validate(ctx, fresh)
	require.NoError(t, err)
	assert.Equal(t, 2, ct.count("/jwks"), "known keys need no fetch")

	// Once the old key is withdrawn and the keys refreshed, its tokens fail.
	a.RemoveKey(oldKid)
	a.RotateKey()
	_, err = v.Validate(ctx, a.IssueToken(testutil.TokenClaims{Audience: []string{"api"}}))
	require.NoError(t, err)
	_, err = v.Validate(ctx, old)
	require.ErrorIs(t, err, middleware.ErrUnknownKey)
}

func TestConcurrentUnknownKidShareOneFetch(t *testing.T) {
	a, v, ct := newValidator(t, middleware.ValidatorConfig{MinRefetchInterval: time.Hour})
	a.RotateKey()
	tok := a.IssueToken(testutil.TokenClaims{Audience: []string{"api"}})
	var wg sync.WaitGroup
	var ok atomic.Int32
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := v.Validate(context.Background(), tok); err == nil {
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, 2, ct.count("/jwks"))
	assert.EqualValues(t, 32, ok.Load(), "every waiter gets the new key")
}

func TestBackgroundRefresh(t *testing.T) {
	a, v, ct := newValidator(t, middleware.ValidatorConfig{RefreshInterval: time.Millisecond, MinRefetchInterval: time.Millisecond})
	tok := a.IssueToken(testutil.TokenClaims{Audience: []string{"api"}})
	require.Eventually(t, func() bool {
		_, err := v.Validate(context.Background(), tok)
		require.NoError(t, err, "stale keys keep serving while refreshing")
		return ct.count("/jwks") >= 2
	}, 5*time.Second, 5*time.Millisecond)
}

// gatedJWKS serves the authority's JWKS through a gate that can hold requests.
type gatedJWKS struct {
	a    *testutil.Authority
	hold atomic.Bool
	gate chan struct{}
}

func (g *gatedJWKS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if g.hold.Load() {
		select {
		case <-g.gate:
		case <-r.Context().Done():
			return
		}
	}
	resp, err := g.a.Client().Get(g.a.JWKSURL())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.Copy(w, resp.Body)
}

func TestUnknownKidHonoursContext(t *testing.T) {
	a := testutil.NewAuthority(t, testutil.Options{})
	g := &gatedJWKS{a: a, gate: make(chan struct{})}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	v, err := middleware.NewValidator(context.Background(), middleware.ValidatorConfig{
		Issuer: a.Issuer(), JWKSURL: srv.URL, Audience: []string{"api"}, MinRefetchInterval: time.Nanosecond,
	})
	require.NoError(t, err)

	g.hold.Store(true)
	a.RotateKey()
	tok := a.IssueToken(testutil.TokenClaims{Audience: []string{"api"}})

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = v.Validate(ctx, tok)
	require.ErrorIs(t, err, middleware.ErrKeysUnavailable)
	require.True(t, errors.Is(err, context.DeadlineExceeded))
	assert.Less(t, time.Since(start), 2*time.Second)

	// The fetch went on without the caller that gave up: once the server
	// answers, the token verifies.
	close(g.gate)
	require.Eventually(t, func() bool {
		_, err := v.Validate(context.Background(), tok)
		return err == nil
	}, 5*time.Second, 5*time.Millisecond)
}
