package outbound_test

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/outbound"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

const gatewaySecret = "gateway-secret-do-not-leak"

// env is an authority with two resource servers, "orders" and "billing",
// and the client "gateway" allowed to exchange for both.
type env struct {
	a               *testutil.Authority
	orders, billing *testutil.ResourceServer
	client          *authority.Client
	x               *exchange.Exchanger
}

func newEnv(t testing.TB) *env {
	t.Helper()
	a := testutil.NewAuthority(t, testutil.Options{})
	a.AddClient(testutil.Client{ID: "gateway", Secret: gatewaySecret, ExchangeAudiences: []string{"orders", "billing"}})
	e := &env{
		a:       a,
		orders:  testutil.NewResourceServer(t, a, "orders"),
		billing: testutil.NewResourceServer(t, a, "billing"),
	}
	e.client = newClient(t, a, "gateway", gatewaySecret)
	e.x = newExchanger(t, e.client)
	return e
}

func newClient(t testing.TB, a *testutil.Authority, id, secret string) *authority.Client {
	t.Helper()
	c, err := authority.New(authority.Config{TokenURL: a.TokenURL(), ClientID: id, ClientSecret: secret, HTTPClient: a.Client()})
	require.NoError(t, err)
	return c
}

func newExchanger(t testing.TB, c *authority.Client) *exchange.Exchanger {
	t.Helper()
	x, err := exchange.New(c, exchange.Options{NegativeTTL: -1})
	require.NoError(t, err)
	t.Cleanup(x.Close)
	return x
}

// ownTokens returns a client-credentials TokenSource of the gateway for
// audience.
func (e *env) ownTokens(audience string) *authority.CachedSource {
	return authority.NewCachedSource(e.client, authority.ClientCredentialsRequest{Audiences: []string{audience}}, authority.CachedSourceOptions{})
}

func newTransport(t testing.TB, opts outbound.Options) *outbound.Transport {
	t.Helper()
	tr, err := outbound.New(opts)
	require.NoError(t, err)
	return tr
}

// get sends a GET to url through rt on behalf of subject ("" for none).
func get(t testing.TB, rt http.RoundTripper, subject, url string) (*http.Response, error) {
	t.Helper()
	ctx := context.Background()
	if subject != "" {
		ctx = middleware.NewContext(ctx, subject)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	return (&http.Client{Transport: rt}).Do(req)
}

// mustGet is get that requires success and returns the status, closing
// the body.
func mustGet(t testing.TB, rt http.RoundTripper, subject, url string) int {
	t.Helper()
	resp, err := get(t, rt, subject, url)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}

// staticTokens is a TokenSource that hands out tokens named after it:
// "<name>-1", then "<name>-2" after an Invalidate, and so on.
type staticTokens struct {
	name        string
	generation  atomic.Int64
	invalidated atomic.Int64
}

func (s *staticTokens) Token(context.Context) (*authority.Token, error) {
	n := s.generation.Load() + 1
	return &authority.Token{AccessToken: s.name + "-" + strconv.FormatInt(n, 10), TokenType: "Bearer", Expiry: time.Now().Add(time.Hour)}, nil
}

func (s *staticTokens) Invalidate(*authority.Token) {
	s.invalidated.Add(1)
	s.generation.Add(1)
}

// fakeBase is a RoundTripper that records requests (with their bodies read)
// and answers with the statuses queued in statuses, then 200.
type fakeBase struct {
	mu       sync.Mutex // guards the fields below
	reqs     []*http.Request
	bodies   []string
	statuses []int
	served   []*trackedBody
}

func (f *fakeBase) RoundTrip(req *http.Request) (*http.Response, error) {
	var body string
	if req.Body != nil {
		b, _ := io.ReadAll(req.Body)
		_ = req.Body.Close()
		body = string(b)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, req)
	f.bodies = append(f.bodies, body)
	status := http.StatusOK
	if len(f.statuses) > 0 {
		status, f.statuses = f.statuses[0], f.statuses[1:]
	}
	rb := &trackedBody{Reader: strings.NewReader(strings.Repeat("x", 100))}
	f.served = append(f.served, rb)
	return &http.Response{StatusCode: status, Header: http.Header{}, Body: rb, Request: req}, nil
}

// authorizations returns the Authorization header of each request.
func (f *fakeBase) authorizations() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.reqs {
		out = append(out, r.Header.Get("Authorization"))
	}
	return out
}

func (f *fakeBase) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.reqs)
}

// trackedBody records whether it was read to the end and closed.
type trackedBody struct {
	*strings.Reader
	closed atomic.Bool
}

func (b *trackedBody) Close() error { b.closed.Store(true); return nil }

// closeTracker is a request body that records Close.
type closeTracker struct {
	io.Reader
	closed atomic.Bool
}

func (c *closeTracker) Close() error { c.closed.Store(true); return nil }
