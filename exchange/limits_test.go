package exchange_test

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// holdGate is a RoundTripper that, while hold is set, holds every request
// until release is closed, and counts the requests it sees at once.
type holdGate struct {
	base     http.RoundTripper
	hold     atomic.Bool
	release  chan struct{}
	arrived  atomic.Int64
	inFlight atomic.Int64
	most     atomic.Int64
}

func newHoldGate(hold bool) *holdGate {
	g := &holdGate{release: make(chan struct{})}
	g.hold.Store(hold)
	return g
}

func (g *holdGate) RoundTrip(r *http.Request) (*http.Response, error) {
	n := g.inFlight.Add(1)
	defer g.inFlight.Add(-1)
	for m := g.most.Load(); n > m && !g.most.CompareAndSwap(m, n); m = g.most.Load() {
	}
	g.arrived.Add(1)
	if g.hold.Load() {
		<-g.release
	}
	return g.base.RoundTrip(r)
}

// gatedEnv is newEnv with g between the client and the authority.
func gatedEnv(t *testing.T, opts exchange.Options, aopts testutil.Options, g *holdGate) *env {
	e := newEnv(t, opts, aopts, &http.Client{Transport: g})
	g.base = e.a.Client().Transport
	t.Cleanup(func() {
		g.hold.Store(false)
		select {
		case <-g.release:
		default:
			close(g.release)
		}
	})
	return e
}

func TestMaxInFlight(t *testing.T) {
	const limit = 3
	const n = 5 * limit // limit in flight, 4*limit waiting
	g := newHoldGate(true)
	e := gatedEnv(t, exchange.Options{MaxInFlight: limit}, testutil.Options{}, g)
	subjects := make([]string, n)
	for i := range subjects {
		subjects[i] = e.subject(fmt.Sprintf("user-%d", i))
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.x.Exchange(context.Background(), authority.NewSubjectToken(subjects[i]), exchange.Target{})
		}()
	}
	testutil.WaitFor(t, "the first exchanges", func() bool { return g.arrived.Load() == limit })
	time.Sleep(50 * time.Millisecond) // give any others the chance to arrive
	assert.Equal(t, int64(limit), g.arrived.Load(), "at most MaxInFlight requests reach the authority")
	close(g.release)
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	assert.LessOrEqual(t, g.most.Load(), int64(limit))
	assert.Equal(t, n, e.exchanges())

	_, err := exchange.New(e.client, exchange.Options{MaxInFlight: -1})
	assert.Error(t, err)
}

func TestWaitForSlotIsBounded(t *testing.T) {
	g := newHoldGate(true)
	e := gatedEnv(t, exchange.Options{MaxInFlight: 1, FlightTimeout: 500 * time.Millisecond}, testutil.Options{}, g)
	go e.x.Exchange(context.Background(), authority.NewSubjectToken(e.subject("alice")), exchange.Target{}) //nolint:errcheck
	testutil.WaitFor(t, "alice's exchange to hold the slot", func() bool { return g.arrived.Load() == 1 })

	// A caller's own context ends its wait at once.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	start := time.Now()
	bob := e.subject("bob")
	_, err := e.x.Exchange(ctx, authority.NewSubjectToken(bob), exchange.Target{})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 400*time.Millisecond, "not the FlightTimeout")

	// The flight itself gives up waiting at its FlightTimeout.
	carol := make(chan error, 1)
	go func() {
		_, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(e.subject("carol")), exchange.Target{})
		carol <- err
	}()
	select {
	case err = <-carol:
	case <-time.After(5 * time.Second):
		t.Fatal("the flight waited past its FlightTimeout")
	}
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "free exchange slot")
	assert.True(t, authority.IsTemporary(err))
	assert.Equal(t, int64(1), g.arrived.Load(), "only alice's request reached the authority")
}

func TestTooManyWaitingIsBusy(t *testing.T) {
	g := newHoldGate(true)
	e := gatedEnv(t, exchange.Options{MaxInFlight: 1, FlightTimeout: time.Minute}, testutil.Options{}, g)
	const waiting = 4 // 4*MaxInFlight
	var wg sync.WaitGroup
	errs := make([]error, 1+waiting)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.x.Exchange(context.Background(), authority.NewSubjectToken(e.subject(fmt.Sprintf("user-%d", i))), exchange.Target{})
		}()
	}
	testutil.WaitFor(t, "one exchange and four waiting", func() bool {
		return g.arrived.Load() == 1 && e.x.WaitingForSlot() == waiting
	})

	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := e.x.Exchange(ctx, authority.NewSubjectToken(e.subject("mallory")), exchange.Target{})
	require.ErrorIs(t, err, exchange.ErrBusy)
	assert.Less(t, time.Since(start), time.Second, "at once")
	assert.Equal(t, int64(1), g.arrived.Load())

	close(g.release)
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, 1+waiting, e.exchanges())
	assert.Equal(t, int64(0), e.x.WaitingForSlot())
}

func TestSlotWaitHasItsOwnBudget(t *testing.T) {
	// Each exchange takes 2s at the authority; the FlightTimeout is 3s.
	// Bob waits ~2s for alice's slot, then his exchange still has its
	// whole 3s: with one budget for both it would have 1s and fail. (The
	// 1s margin is for a loaded machine under the race detector.)
	const delay = 2 * time.Second
	var e *env
	arrived := make(chan struct{}, 2)
	slow := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		arrived <- struct{}{}
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
		return e.a.Client().Transport.RoundTrip(r)
	})
	e = newEnv(t, exchange.Options{MaxInFlight: 1, FlightTimeout: 3 * time.Second}, testutil.Options{}, &http.Client{Transport: slow})
	alice, bob := e.subject("alice"), e.subject("bob")
	aliceErr := make(chan error, 1)
	go func() {
		_, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(alice), exchange.Target{})
		aliceErr <- err
	}()
	<-arrived // alice's exchange holds the slot
	_, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(bob), exchange.Target{})
	require.NoError(t, err)
	require.NoError(t, <-aliceErr)
	assert.Equal(t, 2, e.exchanges())
}

func TestAbandonedFlightStopsWaitingForASlot(t *testing.T) {
	g := newHoldGate(true)
	e := gatedEnv(t, exchange.Options{MaxInFlight: 1, FlightTimeout: time.Minute}, testutil.Options{}, g)
	aliceErr := make(chan error, 1)
	go func() {
		_, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(e.subject("alice")), exchange.Target{})
		aliceErr <- err
	}()
	testutil.WaitFor(t, "alice's exchange to hold the slot", func() bool { return g.arrived.Load() == 1 })

	// Bob's two callers both leave: his flight stops waiting for the
	// slot, long before its FlightTimeout and while alice holds it.
	bob := e.subject("bob")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	bobLeft := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := e.x.Exchange(ctx, authority.NewSubjectToken(bob), exchange.Target{})
			bobLeft <- err
		}()
	}
	testutil.WaitFor(t, "bob's flight to wait for the slot", func() bool {
		return e.x.WaitingForSlot() == 1 && e.x.Stats().Misses == 3
	})
	cancel()
	require.ErrorIs(t, <-bobLeft, context.Canceled)
	require.ErrorIs(t, <-bobLeft, context.Canceled)
	testutil.WaitFor(t, "bob's flight to give up", func() bool { return e.x.WaitingForSlot() == 0 })

	// One caller leaving does not abandon a flight another still waits for.
	carol := e.subject("carol")
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	leaver := make(chan error, 1)
	go func() {
		_, err := e.x.Exchange(ctx, authority.NewSubjectToken(carol), exchange.Target{})
		leaver <- err
	}()
	stayer := make(chan error, 1)
	go func() {
		_, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(carol), exchange.Target{})
		stayer <- err
	}()
	testutil.WaitFor(t, "carol's flight to wait for the slot", func() bool {
		return e.x.WaitingForSlot() == 1 && e.x.Stats().Misses == 5
	})
	cancel()
	require.ErrorIs(t, <-leaver, context.Canceled)

	// A new caller for bob starts a new flight.
	bobErr := make(chan error, 1)
	go func() {
		_, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(bob), exchange.Target{})
		bobErr <- err
	}()
	testutil.WaitFor(t, "bob's new flight to wait", func() bool { return e.x.WaitingForSlot() == 2 })

	close(g.release)
	require.NoError(t, <-aliceErr)
	require.NoError(t, <-stayer)
	require.NoError(t, <-bobErr)
	assert.Equal(t, 3, e.exchanges(), "alice, carol and bob's second flight")
}

// ctxKey marks a caller's context; its value must not reach the authority.
type ctxKey struct{}

func TestFlightsDoNotCarryCallerContextValues(t *testing.T) {
	var leaked atomic.Int64
	var e *env
	check := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Context().Value(ctxKey{}) != nil {
			leaked.Add(1)
		}
		return e.a.Client().Transport.RoundTrip(r)
	})
	e = newEnv(t, refreshOpts, testutil.Options{TokenLifetime: 5 * time.Minute}, &http.Client{Transport: check})
	ctx := context.WithValue(context.Background(), ctxKey{}, "the first caller's subject token")
	subject := e.subject("alice")
	tgt := exchange.Target{Audiences: []string{"api-a"}}
	old, err := e.x.Exchange(ctx, authority.NewSubjectToken(subject), tgt)
	require.NoError(t, err)

	// A refresh started by a hit does not carry the hit's values either.
	e.clock.Advance(refreshDue)
	_, err = e.x.Exchange(ctx, authority.NewSubjectToken(subject), tgt)
	require.NoError(t, err)
	testutil.WaitFor(t, "the refresh", func() bool {
		tok, err := e.x.Exchange(ctx, authority.NewSubjectToken(subject), tgt)
		require.NoError(t, err)
		return tok.AccessToken != old.AccessToken
	})
	assert.Equal(t, 2, e.exchanges())
	assert.Equal(t, int64(0), leaked.Load(), "a caller's context value reached the authority's client")
}

func TestRefreshNeverWaitsForASlot(t *testing.T) {
	g := newHoldGate(false)
	opts := refreshOpts
	opts.MaxInFlight = 1
	e := gatedEnv(t, opts, testutil.Options{TokenLifetime: 5 * time.Minute}, g)
	alice := e.subject("alice")
	tgt := exchange.Target{Audiences: []string{"api-a"}}
	old, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(alice), tgt)
	require.NoError(t, err)

	// Bob's exchange holds the only slot.
	g.hold.Store(true)
	bob := make(chan error, 1)
	go func() {
		_, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(e.subject("bob")), tgt)
		bob <- err
	}()
	testutil.WaitFor(t, "bob's exchange", func() bool { return g.arrived.Load() == 2 })

	e.clock.Advance(refreshDue)
	tok, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(alice), tgt)
	require.NoError(t, err)
	assert.Equal(t, old.AccessToken, tok.AccessToken)
	time.Sleep(20 * time.Millisecond)
	assert.Equal(t, uint64(0), e.x.Stats().Refreshes, "skipped, not queued")
	close(g.release)
	require.NoError(t, <-bob)
	assert.Equal(t, int64(2), g.arrived.Load())

	// Not tried again before the retry interval (5s)...
	tok, err = e.x.Exchange(context.Background(), authority.NewSubjectToken(alice), tgt)
	require.NoError(t, err)
	assert.Equal(t, old.AccessToken, tok.AccessToken)
	time.Sleep(20 * time.Millisecond)
	assert.Equal(t, uint64(0), e.x.Stats().Refreshes)

	// ...then it is.
	e.clock.Advance(6 * time.Second)
	testutil.WaitFor(t, "the refresh", func() bool {
		tok, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(alice), tgt)
		require.NoError(t, err)
		return tok.AccessToken != old.AccessToken
	})
	assert.Equal(t, uint64(1), e.x.Stats().Refreshes)
	assert.Equal(t, 3, e.exchanges())
}

func TestRefreshesCountsOnlyStartedRefreshes(t *testing.T) {
	g := newHoldGate(false)
	e := gatedEnv(t, refreshOpts, testutil.Options{TokenLifetime: 5 * time.Minute}, g)
	alice := e.subject("alice")
	tgt := exchange.Target{Audiences: []string{"api-a"}}
	old, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(alice), tgt)
	require.NoError(t, err)

	g.hold.Store(true)
	e.clock.Advance(refreshDue)
	_, err = e.x.Exchange(context.Background(), authority.NewSubjectToken(alice), tgt)
	require.NoError(t, err)
	testutil.WaitFor(t, "the refresh at the authority", func() bool { return g.arrived.Load() == 2 })
	// After the retry interval a hit tries again; it joins the refresh
	// still in flight.
	e.clock.Advance(6 * time.Second)
	_, err = e.x.Exchange(context.Background(), authority.NewSubjectToken(alice), tgt)
	require.NoError(t, err)
	close(g.release)
	testutil.WaitFor(t, "the refresh", func() bool {
		tok, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(alice), tgt)
		require.NoError(t, err)
		return tok.AccessToken != old.AccessToken
	})
	assert.Equal(t, uint64(1), e.x.Stats().Refreshes)
	assert.Equal(t, 2, e.exchanges())
}

func TestPermanentRefusalDuringRefresh(t *testing.T) {
	for _, negative := range []bool{true, false} {
		t.Run(fmt.Sprintf("negative cache %v", negative), func(t *testing.T) {
			opts := refreshOpts
			if !negative {
				opts.NegativeTTL = -1
			}
			e := newEnv(t, opts, testutil.Options{TokenLifetime: 5 * time.Minute}, nil)
			subject := e.subject("alice")
			tgt := exchange.Target{Audiences: []string{"api-a"}}
			old, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
			require.NoError(t, err)

			e.a.InjectFaults(1, testutil.Fault{Kind: testutil.FaultOAuthError, Status: 400, Body: "invalid_grant"})
			e.clock.Advance(refreshDue)
			tok, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
			require.NoError(t, err)
			assert.Equal(t, old.AccessToken, tok.AccessToken)
			testutil.WaitFor(t, "the refresh to fail", func() bool { return e.x.Stats().RefreshFailures == 1 })

			// The old token is no longer served.
			tok, err = e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
			if negative {
				require.ErrorIs(t, err, authority.ErrInvalidGrant, "the refusal is remembered")
				assert.Equal(t, uint64(2), e.x.Stats().Exchanges)
				return
			}
			require.NoError(t, err)
			assert.NotEqual(t, old.AccessToken, tok.AccessToken)
			assert.Equal(t, uint64(3), e.x.Stats().Exchanges)
		})
	}
}

// copyingCache returns a copy of each entry, as a shared store does.
type copyingCache struct{ c *exchange.MemoryCache }

func (c copyingCache) Get(ctx context.Context, k exchange.Key) (*exchange.Entry, error) {
	e, err := c.c.Get(ctx, k)
	if err != nil {
		return nil, err
	}
	return &exchange.Entry{Token: e.Token, Expires: e.Expires, RefreshAt: e.RefreshAt}, nil
}
func (c copyingCache) Set(ctx context.Context, k exchange.Key, e *exchange.Entry, ttl time.Duration) error {
	return c.c.Set(ctx, k, e, ttl)
}
func (c copyingCache) Delete(ctx context.Context, k exchange.Key) error { return c.c.Delete(ctx, k) }

func TestRefreshBackoffWithCopyingCache(t *testing.T) {
	clock := testutil.NewClock(t0)
	mc, err := exchange.NewMemoryCache(exchange.MemoryOptions{Now: clock.Now})
	require.NoError(t, err)
	t.Cleanup(mc.Close)
	opts := refreshOpts
	opts.Cache, opts.Now = copyingCache{mc}, clock.Now
	e := newEnv(t, opts, testutil.Options{TokenLifetime: 5 * time.Minute, Now: clock.Now}, nil)
	e.clock = clock
	subject := e.subject("alice")
	tgt := exchange.Target{Audiences: []string{"api-a"}}
	old, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
	require.NoError(t, err)

	e.a.InjectFaults(100, testutil.Fault{Kind: testutil.FaultStatus, Status: 503})
	e.clock.Advance(refreshDue)
	for i := range 20 {
		tok, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
		require.NoError(t, err)
		assert.Equal(t, old.AccessToken, tok.AccessToken)
		if i == 0 {
			testutil.WaitFor(t, "the refresh to fail", func() bool { return e.x.Stats().RefreshFailures == 1 })
		}
	}
	time.Sleep(20 * time.Millisecond)
	assert.Equal(t, 1, e.a.FaultsServed(), "one refresh attempt within the retry interval")
}

// racyCache stores a renewed token for key between Invalidate's read and
// its removal, if Invalidate reads with Get.
type racyCache struct {
	*exchange.MemoryCache
	key     atomic.Pointer[exchange.Key]
	renewed atomic.Pointer[exchange.Entry]
}

func (c *racyCache) Set(ctx context.Context, k exchange.Key, e *exchange.Entry, ttl time.Duration) error {
	c.key.Store(&k)
	return c.MemoryCache.Set(ctx, k, e, ttl)
}

func (c *racyCache) Get(ctx context.Context, k exchange.Key) (*exchange.Entry, error) {
	e, err := c.MemoryCache.Get(ctx, k)
	if r := c.renewed.Swap(nil); r != nil {
		_ = c.MemoryCache.Set(ctx, k, r, time.Hour)
	}
	return e, err
}

func TestInvalidateIsAtomic(t *testing.T) {
	clock := testutil.NewClock(t0)
	mc, err := exchange.NewMemoryCache(exchange.MemoryOptions{Now: clock.Now})
	require.NoError(t, err)
	t.Cleanup(mc.Close)
	rc := &racyCache{MemoryCache: mc}
	e := newEnv(t, exchange.Options{Cache: rc, Now: clock.Now}, testutil.Options{Now: clock.Now}, nil)
	subject := e.subject("alice")
	tgt := exchange.Target{Audiences: []string{"api-a"}}
	first, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
	require.NoError(t, err)

	// A refresh stores a renewed token while a downstream refuses the
	// first: the renewed token must survive, whichever comes first.
	renewed := &exchange.Entry{Token: &authority.Token{AccessToken: "renewed", Expiry: t0.Add(time.Hour)}, Expires: t0.Add(time.Hour)}
	rc.renewed.Store(renewed)
	e.x.Invalidate(context.Background(), authority.NewSubjectToken(subject), tgt, first)
	if r := rc.renewed.Swap(nil); r != nil {
		require.NoError(t, mc.Set(context.Background(), *rc.key.Load(), r, time.Hour)) // the invalidation came first
	}
	got, err := mc.Get(context.Background(), *rc.key.Load())
	require.NoError(t, err, "the renewed token was removed")
	assert.Equal(t, "renewed", got.Token.AccessToken)
}

func TestMemoryCacheCompareAndDeleteIsAtomic(t *testing.T) {
	c, err := exchange.NewMemoryCache(exchange.MemoryOptions{})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	k := exchange.Key{1}
	old := &exchange.Entry{Token: &authority.Token{AccessToken: "old"}, Expires: time.Now().Add(time.Hour)}
	renewed := &exchange.Entry{Token: &authority.Token{AccessToken: "renewed"}, Expires: time.Now().Add(time.Hour)}
	ctx := context.Background()
	require.NoError(t, c.Set(ctx, k, old, time.Hour))

	// A Set of the key while match runs must wait for the removal: the
	// renewed entry survives.
	set := make(chan struct{})
	removed, err := c.CompareAndDelete(ctx, k, func(e *exchange.Entry) bool {
		go func() {
			_ = c.Set(ctx, k, renewed, time.Hour)
			close(set)
		}()
		select {
		case <-set:
			t.Error("Set of the key completed while CompareAndDelete was comparing")
		case <-time.After(20 * time.Millisecond): // the Set waits on the key's lock
		}
		return e.Token.AccessToken == "old"
	})
	<-set
	require.NoError(t, err)
	assert.True(t, removed)
	got, err := c.Get(ctx, k)
	require.NoError(t, err, "the renewed entry was removed")
	assert.Equal(t, "renewed", got.Token.AccessToken)
}

func TestMemoryCacheCompareAndDeleteStress(t *testing.T) {
	// Each round stores a stale entry, then a deleter removes it by
	// comparison while the writer replaces it with a fresh one. The fresh
	// entry must never be removed, whichever comes first.
	c, err := exchange.NewMemoryCache(exchange.MemoryOptions{})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	k := exchange.Key{2}
	expires := time.Now().Add(time.Hour)
	stale := &exchange.Entry{Token: &authority.Token{AccessToken: "stale"}, Expires: expires}
	isStale := func(e *exchange.Entry) bool {
		runtime.Gosched() // widen the window between compare and removal
		return e.Token.AccessToken == "stale"
	}
	rounds := 5_000
	if testing.Short() {
		rounds = 1_000
	}
	start, done := make(chan struct{}), make(chan struct{})
	go func() {
		for range start {
			_, _ = c.CompareAndDelete(context.Background(), k, isStale)
			done <- struct{}{}
		}
	}()
	defer close(start)
	lost := 0
	for i := range rounds {
		_ = c.Set(context.Background(), k, stale, time.Hour)
		fresh := &exchange.Entry{Token: &authority.Token{AccessToken: fmt.Sprintf("fresh-%d", i)}, Expires: expires}
		start <- struct{}{}
		if i%2 == 0 {
			runtime.Gosched()
		}
		_ = c.Set(context.Background(), k, fresh, time.Hour)
		<-done
		if got, err := c.Get(context.Background(), k); err != nil || got != fresh {
			lost++
		}
	}
	assert.Zero(t, lost, "fresh entries removed by a compare against the stale one, of %d", rounds)
}

// plainCache has no CompareAndDelete.
type plainCache struct{ c *exchange.MemoryCache }

func (c plainCache) Get(ctx context.Context, k exchange.Key) (*exchange.Entry, error) {
	return c.c.Get(ctx, k)
}
func (c plainCache) Set(ctx context.Context, k exchange.Key, e *exchange.Entry, ttl time.Duration) error {
	return c.c.Set(ctx, k, e, ttl)
}
func (c plainCache) Delete(ctx context.Context, k exchange.Key) error { return c.c.Delete(ctx, k) }

func TestInvalidateWithPlainCache(t *testing.T) {
	clock := testutil.NewClock(t0)
	mc, err := exchange.NewMemoryCache(exchange.MemoryOptions{Now: clock.Now})
	require.NoError(t, err)
	t.Cleanup(mc.Close)
	e := newEnv(t, exchange.Options{Cache: plainCache{mc}, Now: clock.Now}, testutil.Options{Now: clock.Now}, nil)
	subject := e.subject("alice")
	tgt := exchange.Target{Audiences: []string{"api-a"}}
	first, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
	require.NoError(t, err)
	assert.False(t, e.x.Invalidate(context.Background(), authority.NewSubjectToken(subject), tgt, &authority.Token{AccessToken: "another token"}))
	assert.True(t, e.x.Invalidate(context.Background(), authority.NewSubjectToken(subject), tgt, first))
	assert.False(t, e.x.Invalidate(context.Background(), authority.NewSubjectToken(subject), tgt, first))
	_, err = e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
	require.NoError(t, err)
	assert.Equal(t, 2, e.exchanges())
}

// countingSource is an actor TokenSource that counts its calls.
type countingSource struct {
	tok   *authority.Token
	calls atomic.Int64
}

func (s *countingSource) Token(context.Context) (*authority.Token, error) {
	s.calls.Add(1)
	return s.tok, nil
}

func TestInvalidateWithUnseenActorAsksNobody(t *testing.T) {
	e := newEnv(t, exchange.Options{}, testutil.Options{}, nil)
	src := &countingSource{tok: &authority.Token{AccessToken: e.subject("svc-orders")}}
	p, err := exchange.Target{Audiences: []string{"api-a"}, Actor: src}.Prepare()
	require.NoError(t, err)
	subject := e.subject("alice")
	assert.False(t, e.x.InvalidatePrepared(context.Background(), authority.NewSubjectToken(subject), p, nil))
	assert.Equal(t, int64(0), src.calls.Load(), "the actor's token source is not asked")

	// After an exchange the remembered actor token finds the entry.
	_, err = e.x.ExchangePrepared(context.Background(), authority.NewSubjectToken(subject), p)
	require.NoError(t, err)
	assert.True(t, e.x.InvalidatePrepared(context.Background(), authority.NewSubjectToken(subject), p, nil))
	assert.Equal(t, int64(1), src.calls.Load())
}

func TestMemoryCacheCompareAndDelete(t *testing.T) {
	clock := testutil.NewClock(t0)
	c, err := exchange.NewMemoryCache(exchange.MemoryOptions{Now: clock.Now})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	ctx := context.Background()
	k := exchange.Key{7}
	e := &exchange.Entry{Token: &authority.Token{AccessToken: "t"}, Expires: t0.Add(time.Minute)}
	never := func(*exchange.Entry) bool { return false }
	same := func(got *exchange.Entry) bool { return got == e }
	cad := func(match func(*exchange.Entry) bool) bool {
		t.Helper()
		removed, err := c.CompareAndDelete(ctx, k, match)
		require.NoError(t, err)
		return removed
	}
	assert.False(t, cad(same), "absent")
	require.NoError(t, c.Set(ctx, k, e, time.Minute))
	assert.False(t, cad(never))
	_, err = c.Get(ctx, k)
	assert.NoError(t, err, "kept when match is false")
	assert.True(t, cad(same))
	_, err = c.Get(ctx, k)
	assert.ErrorIs(t, err, exchange.ErrCacheMiss)
	require.NoError(t, c.Set(ctx, k, e, time.Minute))
	clock.Advance(time.Minute)
	assert.False(t, cad(same), "expired")
}
