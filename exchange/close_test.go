package exchange_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// TestCloseStopsGoroutines checks that an Exchanger and a MemoryCache leave
// no goroutine running once closed, whatever their options.
func TestCloseStopsGoroutines(t *testing.T) {
	tests := []struct {
		name string
		opts func(clock *testutil.Clock) exchange.Options
	}{
		{"defaults, wall clock", func(*testutil.Clock) exchange.Options { return exchange.Options{} }},
		{"no negative cache", func(*testutil.Clock) exchange.Options { return exchange.Options{NegativeTTL: -1} }},
		{"fake clock", func(c *testutil.Clock) exchange.Options { return exchange.Options{Now: c.Now} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := testutil.NewAuthority(t, testutil.Options{})
			a.AddClient(testutil.Client{ID: clientID, Secret: clientSecret, ExchangeAudiences: []string{"api-a"}})
			client, err := authority.New(authority.Config{
				TokenURL: a.TokenURL(), ClientID: clientID, ClientSecret: clientSecret, HTTPClient: a.Client(),
			})
			require.NoError(t, err)
			// Whatever the test binary runs already (the authority, idle
			// connections) is not the Exchanger's.
			ignore := goleak.IgnoreCurrent()

			x, err := exchange.New(client, tc.opts(testutil.NewClock(time.Now())))
			require.NoError(t, err)
			_, err = x.Exchange(context.Background(), authority.NewSubjectToken(a.UserToken("alice", "frontend", clientID)), exchange.Target{Audiences: []string{"api-a"}})
			require.NoError(t, err)
			x.Close()
			a.Client().CloseIdleConnections()
			goleak.VerifyNone(t, ignore)
		})
	}
	t.Run("memory cache", func(t *testing.T) {
		ignore := goleak.IgnoreCurrent()
		c, err := exchange.NewMemoryCache(exchange.MemoryOptions{})
		require.NoError(t, err)
		c.Close()
		goleak.VerifyNone(t, ignore)
	})
}

func TestCloseRefusesLaterCalls(t *testing.T) {
	e := newEnv(t, exchange.Options{}, testutil.Options{}, nil)
	target := exchange.Target{Audiences: []string{"api-a"}}
	alice := e.subject("alice")
	_, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(alice), target)
	require.NoError(t, err)

	e.x.Close()
	for _, subject := range []string{alice, e.subject("bob")} { // a hit before, and a miss
		tok, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), target)
		assert.Nil(t, tok)
		assert.ErrorIs(t, err, exchange.ErrClosed)
	}
	assert.Equal(t, 1, e.exchanges(), "a closed Exchanger asks the authority nothing")
	if byteCacheMode() {
		assert.Equal(t, 1, e.x.Stats().Entries, "a Cache given in Options is not the Exchanger's to close")
	} else {
		assert.Equal(t, 0, e.x.Stats().Entries, "the cache New made is closed, and emptied, with the Exchanger")
	}
	e.x.Close() // again: a no-op
}

// TestCloseConcurrent closes an Exchanger from several goroutines at once,
// while exchanges run: every Close returns, every exchange returns a token
// or ErrClosed.
func TestCloseConcurrent(t *testing.T) {
	e := newEnv(t, exchange.Options{}, testutil.Options{}, nil)
	target := exchange.Target{Audiences: []string{"api-a"}}
	subjects := []string{e.subject("alice"), e.subject("bob")}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subjects[i%2]), target)
			if err != nil && !errors.Is(err, exchange.ErrClosed) {
				t.Errorf("Exchange: %v", err)
			}
		}()
		go func() {
			defer wg.Done()
			e.x.Close()
		}()
	}
	wg.Wait()
}

// TestCloseEndsFlights checks that Close cancels an exchange waiting for the
// authority: its caller gets ErrClosed, and Close returns once the flight
// has.
func TestCloseEndsFlights(t *testing.T) {
	g := &gate{base: http.DefaultTransport, arrived: make(chan struct{}, 1), release: make(chan struct{})}
	defer close(g.release)
	e := newEnv(t, exchange.Options{}, testutil.Options{}, &http.Client{Transport: g})
	errc := make(chan error, 1)
	go func() {
		_, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(e.subject("alice")), exchange.Target{Audiences: []string{"api-a"}})
		errc <- err
	}()
	<-g.arrived // the flight is at the authority, held by the gate
	e.x.Close()
	assert.ErrorIs(t, <-errc, exchange.ErrClosed)
}

// TestCloseEndsRefresh checks that Close ends a background refresh-ahead
// exchange that is waiting for the authority, and returns once it has.
func TestCloseEndsRefresh(t *testing.T) {
	g := &gate{base: http.DefaultTransport, arrived: make(chan struct{}, 1), release: make(chan struct{})}
	defer close(g.release)
	e := newEnv(t, exchange.Options{RefreshJitter: -1}, testutil.Options{}, &http.Client{Transport: g})
	target := exchange.Target{Audiences: []string{"api-a"}}
	alice := e.subject("alice")
	go func() { <-g.arrived; g.release <- struct{}{} }() // let the first exchange through
	_, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(alice), target)
	require.NoError(t, err)

	e.clock.Advance(4 * time.Minute) // past 3/4 of the 5-minute token's life
	_, err = e.x.Exchange(context.Background(), authority.NewSubjectToken(alice), target)
	require.NoError(t, err, "a hit serves the cached token and starts a refresh")
	<-g.arrived // the refresh is at the authority
	e.x.Close()
	assert.Equal(t, uint64(1), e.x.Stats().RefreshFailures, "the refresh ended, refused by Close")
}

func TestMemoryCacheClose(t *testing.T) {
	clock := testutil.NewClock(t0)
	c, err := exchange.NewMemoryCache(exchange.MemoryOptions{Now: clock.Now})
	require.NoError(t, err)
	ctx := context.Background()
	var key exchange.Key
	require.NoError(t, c.Set(ctx, key, &exchange.Entry{Token: &authority.Token{AccessToken: "tok"}, Expires: t0.Add(time.Hour)}, time.Hour))
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() { defer wg.Done(); c.Close() }()
	}
	wg.Wait()
	_, err = c.Get(ctx, key)
	assert.ErrorIs(t, err, exchange.ErrCacheMiss, "Close drops the entries")
	require.NoError(t, c.Set(ctx, key, &exchange.Entry{Token: &authority.Token{AccessToken: "tok"}, Expires: t0.Add(time.Hour)}, time.Hour))
	_, err = c.Get(ctx, key)
	assert.NoError(t, err, "a closed cache still works, without its clean-up goroutine")
}

// TestCloseKeepsUserCache checks that an Exchanger does not close a Cache
// it was given: its owner may share it and closes it.
func TestCloseKeepsUserCache(t *testing.T) {
	clock := testutil.NewClock(t0)
	shared, err := exchange.NewMemoryCache(exchange.MemoryOptions{Now: clock.Now})
	require.NoError(t, err)
	t.Cleanup(shared.Close)
	e := newEnv(t, exchange.Options{Cache: shared, Now: clock.Now}, testutil.Options{Now: clock.Now}, nil)
	_, err = e.x.Exchange(context.Background(), authority.NewSubjectToken(e.subject("alice")), exchange.Target{Audiences: []string{"api-a"}})
	require.NoError(t, err)
	e.x.Close()
	assert.Equal(t, 1, shared.Len(), "the shared cache keeps its entries")
}
