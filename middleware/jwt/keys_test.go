package jwt_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/middleware/jwt"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

func TestUnknownKidRefetchesOnce(t *testing.T) {
	a, v, ct := newValidator(t, jwt.Config{MinRefetchInterval: time.Hour})
	ctx := context.Background()
	require.Equal(t, 1, ct.count("/jwks"), "one fetch at construction")
	require.Equal(t, 1, ct.count("/.well-known/oauth-authorization-server"), "one discovery (RFC 8414 first)")

	// A kid the authority does not publish: one refetch, then refused.
	kid := a.RotateKey()
	a.RemoveKey(kid)
	_, err := v.Validate(ctx, sub(a.IssueToken(testutil.TokenClaims{Audience: []string{"api"}})))
	require.ErrorIs(t, err, middleware.ErrUnknownKey)
	assert.Equal(t, 2, ct.count("/jwks"), "exactly one refetch")

	// Another unknown kid within MinRefetchInterval: no fetch.
	kid = a.RotateKey()
	a.RemoveKey(kid)
	_, err = v.Validate(ctx, sub(a.IssueToken(testutil.TokenClaims{Audience: []string{"api"}})))
	require.ErrorIs(t, err, middleware.ErrUnknownKey)
	var e *middleware.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "unknown signing key", e.Description)
	assert.Equal(t, 2, ct.count("/jwks"), "rate limited")

	// Even a genuinely new key waits for the interval.
	a.RotateKey()
	_, err = v.Validate(ctx, sub(a.IssueToken(testutil.TokenClaims{Audience: []string{"api"}})))
	require.ErrorIs(t, err, middleware.ErrUnknownKey)
	assert.Equal(t, 2, ct.count("/jwks"))
}

func TestKeyRotation(t *testing.T) {
	a, v, ct := newValidator(t, jwt.Config{MinRefetchInterval: time.Nanosecond})
	ctx := context.Background()
	old := a.IssueToken(testutil.TokenClaims{Audience: []string{"api"}})
	_, err := v.Validate(ctx, sub(old))
	require.NoError(t, err)

	oldKid := a.ActiveKeyID()
	a.RotateKey()
	fresh := a.IssueToken(testutil.TokenClaims{Audience: []string{"api"}})
	_, err = v.Validate(ctx, sub(fresh))
	require.NoError(t, err, "new key accepted after a refetch")
	assert.Equal(t, 2, ct.count("/jwks"))
	_, err = v.Validate(ctx, sub(old))
	require.NoError(t, err, "old key still published")
	_, err = v.Validate(ctx, sub(fresh))
	require.NoError(t, err)
	assert.Equal(t, 2, ct.count("/jwks"), "known keys need no fetch")

	// Once the old key is withdrawn and the keys refreshed, its tokens fail.
	a.RemoveKey(oldKid)
	a.RotateKey()
	_, err = v.Validate(ctx, sub(a.IssueToken(testutil.TokenClaims{Audience: []string{"api"}})))
	require.NoError(t, err)
	_, err = v.Validate(ctx, sub(old))
	require.ErrorIs(t, err, middleware.ErrUnknownKey)
}

func TestConcurrentUnknownKidShareOneFetch(t *testing.T) {
	a, v, ct := newValidator(t, jwt.Config{MinRefetchInterval: time.Hour})
	a.RotateKey()
	tok := a.IssueToken(testutil.TokenClaims{Audience: []string{"api"}})
	var wg sync.WaitGroup
	var ok atomic.Int32
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := v.Validate(context.Background(), sub(tok))
			if err == nil {
				ok.Add(1)
			} else {
				t.Log(err)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, 2, ct.count("/jwks"))
	assert.EqualValues(t, 32, ok.Load(), "every waiter gets the new key")
}

func TestBackgroundRefresh(t *testing.T) {
	a, v, ct := newValidator(t, jwt.Config{RefreshInterval: time.Millisecond, MinRefetchInterval: time.Millisecond})
	tok := a.IssueToken(testutil.TokenClaims{Audience: []string{"api"}})
	assert.EventuallyWithT(t, func(c *assert.CollectT) {
		_, err := v.Validate(context.Background(), sub(tok))
		assert.NoError(c, err, "stale keys keep serving while refreshing")
		assert.GreaterOrEqual(c, ct.count("/jwks"), 2)
	}, 5*time.Second, 5*time.Millisecond)
}

// gatedJWKS serves the authority's JWKS through a gate that can hold requests
// (until gate is closed), or fail them with 503; it counts the requests it
// receives, signals each arrival on arrived when that is not nil, and
// records the traceparent header of each.
type gatedJWKS struct {
	a       *testutil.Authority
	hold    atomic.Bool
	fail    atomic.Bool
	gate    chan struct{}
	arrived chan struct{}
	count   atomic.Int32

	mu           sync.Mutex // guards traceparents
	traceparents []string
}

func (g *gatedJWKS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.count.Add(1)
	g.mu.Lock()
	g.traceparents = append(g.traceparents, r.Header.Get("traceparent"))
	g.mu.Unlock()
	select {
	case g.arrived <- struct{}{}:
	default:
	}
	if g.fail.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	if g.hold.Load() {
		select {
		case <-g.gate:
		case <-r.Context().Done():
			return
		}
	}
	resp, err := g.a.Client().Get(g.a.JWKSURL())
	if err != nil {
		http.Error(w, "upstream", http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.Copy(w, resp.Body)
}

// lastTraceparent is the traceparent header of the latest request.
func (g *gatedJWKS) lastTraceparent() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.traceparents[len(g.traceparents)-1]
}

// newGated returns an authority and a validator that fetches its keys
// through a gatedJWKS.
func newGated(t *testing.T, cfg jwt.Config) (*testutil.Authority, *gatedJWKS, *jwt.Validator) {
	t.Helper()
	a := testutil.NewAuthority(t, testutil.Options{})
	g := &gatedJWKS{a: a, gate: make(chan struct{})}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	cfg.Issuer, cfg.JWKSURL, cfg.Audience = a.Issuer(), srv.URL, []string{"api"}
	v, err := jwt.New(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(v.Close)
	return a, g, v
}

func TestUnknownKidHonoursContext(t *testing.T) {
	// MinRefetchInterval is long: once the caller gives up, only the fetch it
	// started can bring the new key; no later request may start another.
	a, g, v := newGated(t, jwt.Config{MinRefetchInterval: time.Hour})
	g.hold.Store(true)
	a.RotateKey()
	tok := a.IssueToken(testutil.TokenClaims{Audience: []string{"api"}})

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := v.Validate(ctx, sub(tok))
	require.ErrorIs(t, err, middleware.ErrKeysUnavailable)
	require.ErrorIs(t, err, middleware.ErrUnavailable)
	require.True(t, errors.Is(err, context.DeadlineExceeded))
	assert.Less(t, time.Since(start), 2*time.Second)
	var e *middleware.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, http.StatusServiceUnavailable, e.Status)
	assert.Zero(t, e.RetryAfter, "the fetch goes on: no delay to announce")

	// The fetch went on without the caller that gave up: once the server
	// answers, the token verifies.
	close(g.gate)
	require.Eventually(t, func() bool {
		_, err := v.Validate(context.Background(), sub(tok))
		return err == nil
	}, 5*time.Second, 5*time.Millisecond)
	assert.EqualValues(t, 2, g.count.Load(), "the construction fetch and the one detached refetch")
}

// TestKeysUnavailableAnswers503 checks that a token whose kid is unknown
// while the key server fails is answered 503 with Retry-After (when the
// next refetch may start), not 401: the key may well exist. That holds
// for the request whose refetch failed and for those refused meanwhile by
// the rate limit.
func TestKeysUnavailableAnswers503(t *testing.T) {
	a, g, v := newGated(t, jwt.Config{MinRefetchInterval: time.Hour})
	g.fail.Store(true)
	a.RotateKey()
	tok := a.IssueToken(testutil.TokenClaims{Audience: []string{"api"}})
	h := middleware.Bearer(middleware.Options{Validator: v})(http.HandlerFunc(echoToken))
	do := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/resource", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	for _, name := range []string{"the failed refetch", "rate limited after it"} {
		rec := do()
		assert.Equal(t, http.StatusServiceUnavailable, rec.Code, name)
		ra, err := strconv.Atoi(rec.Header().Get("Retry-After"))
		require.NoError(t, err, name)
		assert.True(t, ra > 3500 && ra <= 3600, "%s: Retry-After %d is not about MinRefetchInterval", name, ra)
		assert.JSONEq(t, `{"error":"temporarily_unavailable","error_description":"signing keys unavailable"}`, rec.Body.String())
		assert.Empty(t, rec.Header().Get("WWW-Authenticate"))
	}
	assert.EqualValues(t, 2, g.count.Load(), "the construction fetch and one refetch")
}

// A failing key server is asked in the background at most once per
// MinRefetchInterval, and the old keys keep serving meanwhile.
func TestBackgroundRefreshFailing(t *testing.T) {
	t.Run("once", func(t *testing.T) {
		a, g, v := newGated(t, jwt.Config{RefreshInterval: time.Millisecond, MinRefetchInterval: time.Hour})
		tok := a.IssueToken(testutil.TokenClaims{Audience: []string{"api"}})
		g.fail.Store(true)
		time.Sleep(5 * time.Millisecond) // the keys are stale
		for range 200 {
			_, err := v.Validate(context.Background(), sub(tok))
			require.NoError(t, err, "old keys keep serving")
		}
		require.Eventually(t, func() bool { return g.count.Load() == 2 }, 5*time.Second, time.Millisecond)
		for range 200 {
			_, err := v.Validate(context.Background(), sub(tok))
			require.NoError(t, err, "old keys keep serving after a failed refresh")
		}
		time.Sleep(20 * time.Millisecond)
		assert.EqualValues(t, 2, g.count.Load(), "one failed refresh, no retry within MinRefetchInterval")
	})
	t.Run("rate", func(t *testing.T) {
		const interval, window = 100 * time.Millisecond, 550 * time.Millisecond
		a, g, v := newGated(t, jwt.Config{RefreshInterval: time.Millisecond, MinRefetchInterval: interval})
		tok := a.IssueToken(testutil.TokenClaims{Audience: []string{"api"}})
		g.fail.Store(true)
		n := 0
		for deadline := time.Now().Add(window); time.Now().Before(deadline); n++ {
			_, err := v.Validate(context.Background(), sub(tok))
			require.NoError(t, err)
		}
		time.Sleep(20 * time.Millisecond) // let the last attempt reach the server
		refreshes := int(g.count.Load()) - 1
		t.Logf("%d validations, %d background refreshes", n, refreshes)
		assert.GreaterOrEqual(t, refreshes, 2, "the failing server is retried")
		assert.LessOrEqual(t, refreshes, int(window/interval)+2, "at most once per MinRefetchInterval")

		// Once the server recovers, a refresh succeeds.
		g.fail.Store(false)
		a.RotateKey()
		fresh := a.IssueToken(testutil.TokenClaims{Audience: []string{"api"}})
		assert.EventuallyWithT(t, func(c *assert.CollectT) {
			_, err := v.Validate(context.Background(), sub(fresh))
			assert.NoError(c, err)
		}, 5*time.Second, 10*time.Millisecond)
	})
}

type ctxKey struct{}

// valueSpy is a transport that records whether the requests it sees carry
// values of the context that triggered them.
type valueSpy struct {
	base   http.RoundTripper
	leaked atomic.Int32
	seen   atomic.Int32
}

func (s *valueSpy) RoundTrip(req *http.Request) (*http.Response, error) {
	s.seen.Add(1)
	if _, ok := middleware.TokenFromContext(req.Context()); ok || req.Context().Value(ctxKey{}) != nil {
		s.leaked.Add(1)
	}
	return s.base.RoundTrip(req)
}

// Key set fetches started by a request run on a context of their own: the
// request's values (its token, trace spans) never reach the JWKS client.
func TestKeyFetchDropsRequestContext(t *testing.T) {
	a := testutil.NewAuthority(t, testutil.Options{})
	spy := &valueSpy{base: a.Client().Transport}
	v, err := jwt.New(context.Background(), jwt.Config{
		Issuer: a.Issuer(), Audience: []string{"api"}, HTTPClient: &http.Client{Transport: spy},
		RefreshInterval: 50 * time.Millisecond, MinRefetchInterval: time.Millisecond,
	})
	require.NoError(t, err)
	t.Cleanup(v.Close)
	reqCtx := context.WithValue(middleware.NewContext(context.Background(), "caller-token"), ctxKey{}, "span")
	before := spy.seen.Load()

	a.RotateKey() // unknown kid: an on-demand refetch
	_, err = v.Validate(reqCtx, sub(a.IssueToken(testutil.TokenClaims{Audience: []string{"api"}})))
	require.NoError(t, err)
	require.Greater(t, spy.seen.Load(), before)

	time.Sleep(60 * time.Millisecond) // stale: a background refresh
	n := spy.seen.Load()
	_, err = v.Validate(reqCtx, sub(a.IssueToken(testutil.TokenClaims{Audience: []string{"api"}})))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return spy.seen.Load() > n }, 5*time.Second, time.Millisecond)
	assert.Zero(t, spy.leaked.Load(), "a key set request carried the caller's context values")
}
