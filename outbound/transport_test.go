package outbound_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/outbound"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

func TestRouteModes(t *testing.T) {
	e := newEnv(t)
	alice := e.a.UserToken("alice", "web", "orders", "billing")
	tr := newTransport(t, outbound.Options{
		Exchanger: e.x,
		Routes: []outbound.Route{
			{URL: e.orders.URL + "/exchanged", Mode: outbound.ModeExchange, Target: exchange.Target{Audiences: []string{"orders"}, Scopes: []string{}}},
			{URL: e.orders.URL + "/own", Mode: outbound.ModeOwnToken, Tokens: e.ownTokens("orders")},
			{URL: e.orders.URL + "/passed", Mode: outbound.ModePassThrough},
			{URL: e.orders.URL + "/none", Mode: outbound.ModeNone},
		},
	})

	t.Run("exchange", func(t *testing.T) {
		e.orders.Reset()
		for range 3 {
			assert.Equal(t, http.StatusOK, mustGet(t, tr, alice, e.orders.URL+"/exchanged/1"))
		}
		got := e.orders.Received()
		require.Len(t, got, 3)
		assert.True(t, got[0].Authorized, got[0].Err)
		assert.Equal(t, "alice", got[0].Subject)
		assert.Equal(t, "gateway", got[0].ClientID)
		assert.Equal(t, []string{"orders"}, got[0].Audience)
		assert.NotEqual(t, alice, got[0].Token)
		assert.Equal(t, got[0].Token, got[2].Token, "the exchanged token is cached")
		assert.Equal(t, 1, e.a.ExchangesFor("alice"))
	})
	t.Run("own token", func(t *testing.T) {
		e.orders.Reset()
		assert.Equal(t, http.StatusOK, mustGet(t, tr, "", e.orders.URL+"/own"))
		assert.Equal(t, http.StatusOK, mustGet(t, tr, alice, e.orders.URL+"/own/2"))
		got := e.orders.Received()
		require.Len(t, got, 2)
		assert.True(t, got[1].Authorized, got[1].Err)
		assert.Equal(t, "gateway", got[1].Subject, "the service's own identity, not the caller's")
		assert.Equal(t, got[0].Token, got[1].Token)
	})
	t.Run("pass-through", func(t *testing.T) {
		e.orders.Reset()
		assert.Equal(t, http.StatusOK, mustGet(t, tr, alice, e.orders.URL+"/passed"))
		got := e.orders.Received()
		require.Len(t, got, 1)
		assert.Equal(t, alice, got[0].Token)
		assert.Equal(t, "alice", got[0].Subject)
	})
	t.Run("none", func(t *testing.T) {
		e.orders.Reset()
		assert.Equal(t, http.StatusUnauthorized, mustGet(t, tr, alice, e.orders.URL+"/none"))
		got := e.orders.Received()
		require.Len(t, got, 1)
		assert.Equal(t, "", got[0].Token)
		assert.Equal(t, "no Authorization header", got[0].Err)
	})
	t.Run("no subject", func(t *testing.T) {
		// A context that went through the middleware (here NewContext)
		// without a token: the caller is anonymous. A context that did
		// not: the handler forgot r.Context().
		for _, c := range []struct {
			ctx  context.Context
			want error
		}{
			{middleware.NewContext(context.Background(), ""), outbound.ErrNoSubjectToken},
			{context.Background(), outbound.ErrNoInboundContext},
		} {
			for _, p := range []string{"/exchanged", "/passed"} {
				e.orders.Reset()
				req, err := http.NewRequestWithContext(c.ctx, http.MethodGet, e.orders.URL+p, nil)
				require.NoError(t, err)
				_, err = (&http.Client{Transport: tr}).Do(req)
				require.ErrorIs(t, err, c.want)
				var te *outbound.TokenError
				require.True(t, errors.As(err, &te))
				assert.Equal(t, e.orders.URL+p, te.Route)
				assert.Empty(t, e.orders.Received(), "nothing is sent")
			}
		}
	})
}

// TestCallerAuthorization: a header the caller set is left alone, except
// one that carries the subject token, which the route's token replaces.
func TestCallerAuthorization(t *testing.T) {
	e := newEnv(t)
	alice := e.a.UserToken("alice", "web")
	tr := newTransport(t, outbound.Options{
		Exchanger: e.x,
		Routes: []outbound.Route{
			{URL: e.orders.URL + "/x", Mode: outbound.ModeExchange, Target: exchange.Target{Audiences: []string{"orders"}}},
			{URL: e.orders.URL + "/none", Mode: outbound.ModeNone},
		},
	})
	send := func(path, authz string) {
		t.Helper()
		req, err := http.NewRequestWithContext(middleware.NewContext(context.Background(), alice), http.MethodGet, e.orders.URL+path, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", authz)
		resp, err := tr.RoundTrip(req)
		require.NoError(t, err)
		_ = resp.Body.Close()
		assert.Equal(t, authz, req.Header.Get("Authorization"), "the caller's request is not modified")
	}

	send("/x", "Basic Y2FsbGVyOm93bg==")
	send("/x", "Bearer "+alice)
	send("/none", "bearer "+alice)
	got := e.orders.Received()
	require.Len(t, got, 3)
	assert.Equal(t, "Authorization is not a Bearer token", got[0].Err, "the caller's own header is sent unchanged")
	assert.True(t, got[1].Authorized, "the echoed subject token is replaced by the exchanged one")
	assert.NotEqual(t, alice, got[1].Token)
	assert.Equal(t, []string{"orders"}, got[1].Audience)
	assert.Equal(t, "", got[2].Token, "a none route strips the echoed subject token")
	assert.Equal(t, 1, e.a.Count("urn:ietf:params:oauth:grant-type:token-exchange"))
}

func TestUnrouted(t *testing.T) {
	e := newEnv(t)
	alice := e.a.UserToken("alice", "web")
	var seen []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Header.Get("Authorization"))
	}))
	t.Cleanup(other.Close)
	routes := []outbound.Route{{URL: e.orders.URL, Mode: outbound.ModePassThrough}}

	t.Run("refused", func(t *testing.T) {
		tr := newTransport(t, outbound.Options{Routes: routes})
		req, err := http.NewRequestWithContext(middleware.NewContext(context.Background(), alice), http.MethodGet, other.URL+"/secret?q=1", nil)
		require.NoError(t, err)
		_, err = tr.RoundTrip(req)
		require.ErrorIs(t, err, outbound.ErrNoRoute)
		assert.Contains(t, err.Error(), "no route for "+other.URL+" (request not sent)")
		assert.NotContains(t, err.Error(), "secret")
		assert.Empty(t, seen)
	})
	t.Run("allowed without token", func(t *testing.T) {
		tr := newTransport(t, outbound.Options{Routes: routes, AllowUnrouted: true})
		ctx := middleware.NewContext(context.Background(), alice)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, other.URL, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+alice) // as a reverse proxy copies it
		resp, err := tr.RoundTrip(req)
		require.NoError(t, err)
		_ = resp.Body.Close()
		require.NoError(t, err)
		assert.Equal(t, []string{""}, seen, "the echoed subject token is removed")
		assert.Equal(t, "Bearer "+alice, req.Header.Get("Authorization"))
	})
}

// TestRequestUntouched: RoundTrip neither modifies the caller's request nor
// leaves its body open.
func TestRequestUntouched(t *testing.T) {
	base := &fakeBase{statuses: []int{http.StatusUnauthorized}}
	tr := newTransport(t, outbound.Options{Base: base, Routes: []outbound.Route{
		{URL: "https://orders.internal", Mode: outbound.ModeOwnToken, Tokens: &staticTokens{name: "own"}},
	}})
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, "https://orders.internal/x", strings.NewReader("body"))
	require.NoError(t, err)
	req.Header.Set("X-Trace", "1")
	before := req.Header.Clone()
	resp, err := tr.RoundTrip(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, before, req.Header)
	assert.Equal(t, []string{"Bearer own-1", "Bearer own-2"}, base.authorizations())
	for _, r := range base.reqs {
		assert.NotSame(t, req, r)
		assert.Equal(t, "1", r.Header.Get("X-Trace"))
	}
}

// TestCancellation: a caller whose context is canceled while its exchange
// is in flight returns at once; another caller waiting on the same flight
// still gets its token (one slow caller cancels only itself). A cancel
// during the downstream call reaches the base transport.
func TestCancellation(t *testing.T) {
	e := newEnv(t)
	alice := e.a.UserToken("alice", "web")
	tr := newTransport(t, outbound.Options{Exchanger: e.x, Routes: []outbound.Route{
		{URL: e.orders.URL, Mode: outbound.ModeExchange, Target: exchange.Target{Audiences: []string{"orders"}}},
	}})
	const delay = time.Second
	e.a.InjectFaults(1, testutil.Fault{Kind: testutil.FaultDelay, Delay: delay})

	ctx, cancel := context.WithCancel(middleware.NewContext(context.Background(), alice))
	defer cancel()
	impatient := make(chan error, 1)
	go func() {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.orders.URL+"/impatient", nil)
		if err != nil {
			impatient <- err
			return
		}
		_, err = tr.RoundTrip(req)
		impatient <- err
	}()
	require.Eventually(t, func() bool { return e.a.FaultsServed() == 1 }, 5*time.Second, time.Millisecond, "the exchange reached the authority")

	patient := make(chan int, 1)
	go func() { patient <- mustGet(t, tr, alice, e.orders.URL+"/patient") }()

	start := time.Now()
	cancel()
	err := <-impatient
	assert.Less(t, time.Since(start), delay/2, "the canceled caller returns at once")
	require.ErrorIs(t, err, context.Canceled)
	var te *outbound.TokenError
	require.ErrorAs(t, err, &te)
	status, _ := outbound.StatusFor(err)
	assert.Equal(t, http.StatusBadGateway, status)

	assert.Equal(t, http.StatusOK, <-patient, "the other caller still gets its token")
	assert.Equal(t, 1, e.a.ExchangesFor("alice"), "from the one flight")
	got := e.orders.Received()
	require.Len(t, got, 1)
	assert.Equal(t, "/patient", got[0].Path)
	assert.True(t, got[0].Authorized, got[0].Err)

	t.Run("during the downstream call", func(t *testing.T) {
		arrived, block := make(chan struct{}), make(chan struct{})
		slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			close(arrived)
			select {
			case <-r.Context().Done():
			case <-block:
			}
		}))
		t.Cleanup(slow.Close)
		t.Cleanup(func() { close(block) })
		tr := newTransport(t, outbound.Options{Exchanger: e.x, Routes: []outbound.Route{
			{URL: slow.URL, Mode: outbound.ModeExchange, Target: exchange.Target{Audiences: []string{"orders"}}},
		}})
		ctx, cancel := context.WithCancel(middleware.NewContext(context.Background(), alice))
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, slow.URL, nil)
		require.NoError(t, err)
		done := make(chan error, 1)
		go func() {
			resp, err := tr.RoundTrip(req)
			if err == nil {
				_ = resp.Body.Close()
			}
			done <- err
		}()
		<-arrived
		cancel()
		err = <-done
		require.ErrorIs(t, err, context.Canceled)
		status, _ := outbound.StatusFor(err)
		assert.Equal(t, http.StatusBadGateway, status)
	})
}

// TestCallerDeadline: the request's own deadline passing while it waits
// for a flight, or for the downstream service, is 504; the exchange timing
// out on its own deadline is the authority's failure, 503.
func TestCallerDeadline(t *testing.T) {
	e := newEnv(t)
	arrived := make(chan struct{}, 1)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done()
	}))
	t.Cleanup(slow.Close)
	x, err := exchange.New(e.client, exchange.Options{FlightTimeout: 200 * time.Millisecond, NegativeTTL: -1})
	require.NoError(t, err)
	t.Cleanup(x.Close)
	tr := newTransport(t, outbound.Options{Exchanger: x, Routes: []outbound.Route{
		{URL: e.orders.URL, Mode: outbound.ModeExchange, Target: exchange.Target{Audiences: []string{"orders"}}},
		{URL: slow.URL, Mode: outbound.ModeExchange, Target: exchange.Target{Audiences: []string{"orders"}}},
	}})
	call := func(subject, url string, timeout time.Duration) error {
		t.Helper()
		ctx, cancel := context.WithTimeout(middleware.NewContext(context.Background(), subject), timeout)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		require.NoError(t, err)
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err == nil {
			_ = resp.Body.Close()
		}
		return err
	}

	e.a.InjectFaults(1, testutil.Fault{Kind: testutil.FaultDelay, Delay: time.Second})
	err = call(e.a.UserToken("waiter", "web"), e.orders.URL+"/x", 50*time.Millisecond)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	status, _ := outbound.StatusFor(err)
	assert.Equal(t, http.StatusGatewayTimeout, status, "waiting for the flight")

	e.a.InjectFaults(1, testutil.Fault{Kind: testutil.FaultDelay, Delay: time.Second})
	err = call(e.a.UserToken("flight", "web"), e.orders.URL+"/x", 5*time.Second)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	status, _ = outbound.StatusFor(err)
	assert.Equal(t, http.StatusServiceUnavailable, status, "the flight's own deadline")

	subject := e.a.UserToken("downstream", "web")
	require.NoError(t, call(subject, e.orders.URL+"/warm", 5*time.Second))
	err = call(subject, slow.URL+"/x", 200*time.Millisecond)
	<-arrived
	require.ErrorIs(t, err, context.DeadlineExceeded)
	status, _ = outbound.StatusFor(err)
	assert.Equal(t, http.StatusGatewayTimeout, status, "waiting for the downstream service")

	client := &http.Client{Transport: tr, Timeout: 100 * time.Millisecond}
	req, err := http.NewRequestWithContext(middleware.NewContext(context.Background(), subject), http.MethodGet, slow.URL+"/y", nil)
	require.NoError(t, err)
	_, err = client.Do(req)
	<-arrived
	require.Error(t, err)
	status, _ = outbound.StatusFor(err)
	assert.Equal(t, http.StatusGatewayTimeout, status, "http.Client.Timeout")
}

// rotatingTokens hands out its tokens in turn, the same pointers each time.
type rotatingTokens struct {
	toks []*authority.Token
	n    atomic.Int64
}

func (r *rotatingTokens) Token(context.Context) (*authority.Token, error) {
	return r.toks[int(r.n.Add(1)-1)%len(r.toks)], nil
}

func (r *rotatingTokens) Invalidate(*authority.Token) {}

// TestHeaderValueReuse: the Authorization value kept for the last token of
// a route is never sent for another token, whether tokens repeat or
// alternate.
func TestHeaderValueReuse(t *testing.T) {
	src := &rotatingTokens{}
	for _, s := range []string{"a", "b", "b", "c"} {
		src.toks = append(src.toks, &authority.Token{AccessToken: "tok-" + s, Expiry: time.Now().Add(time.Hour)})
	}
	src.toks = append(src.toks, src.toks[1]) // b again, the same pointer
	base := &fakeBase{}
	tr := newTransport(t, outbound.Options{Base: base, Routes: []outbound.Route{
		{URL: "https://orders.internal", Mode: outbound.ModeOwnToken, Tokens: src},
	}})
	var want []string
	for i := range 12 {
		want = append(want, "Bearer "+src.toks[i%len(src.toks)].AccessToken)
		assert.Equal(t, http.StatusOK, mustGet(t, tr, "", "https://orders.internal/x"))
	}
	assert.Equal(t, want, base.authorizations())
}
