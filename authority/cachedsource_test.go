package authority_test

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCachedSourceOneRequestForManyCallers(t *testing.T) {
	a := newAuthority(t, testutil.Options{})
	c := newClient(t, a, authority.Config{ClientID: "gateway", ClientSecret: "gateway-secret"})
	ts := authority.NewCachedSource(c, authority.ClientCredentialsRequest{Scopes: []string{"svc"}}, authority.CachedSourceOptions{})

	var wg sync.WaitGroup
	tokens := make([]string, 100)
	start := make(chan struct{})
	for i := range tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			tok, err := ts.Token(context.Background())
			if assert.NoError(t, err) {
				tokens[i] = tok.AccessToken
			}
		}()
	}
	close(start)
	wg.Wait()
	assert.Equal(t, 1, a.Count(authority.GrantClientCredentials))
	for _, tok := range tokens {
		assert.Equal(t, tokens[0], tok)
	}
}

func TestCachedSourceRenewal(t *testing.T) {
	clock := newFakeClock()
	a := newAuthority(t, testutil.Options{Now: clock.Now, TokenLifetime: 2 * time.Minute})
	c := newClient(t, a, authority.Config{ClientID: "gateway", ClientSecret: "gateway-secret", Now: clock.Now})
	ts := authority.NewCachedSource(c, authority.PasswordRequest{Username: "alice", Password: "wonderland"}, authority.CachedSourceOptions{Skew: 30 * time.Second})
	ctx := context.Background()

	first, err := ts.Token(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, a.Count(authority.GrantPassword))

	clock.Advance(time.Minute) // 60s left: outside the skew
	same, err := ts.Token(ctx)
	require.NoError(t, err)
	assert.Same(t, first, same)
	assert.Equal(t, 0, a.Count(authority.GrantRefreshToken))

	clock.Advance(61 * time.Second) // expired: callers wait for the refresh
	renewed, err := ts.Token(ctx)
	require.NoError(t, err)
	assert.NotEqual(t, first.AccessToken, renewed.AccessToken)
	assert.Equal(t, 1, a.Count(authority.GrantRefreshToken), "renewal uses the refresh token")
	assert.Equal(t, 1, a.Count(authority.GrantPassword))

	// The session is removed: the refresh is refused with invalid_grant
	// and the source falls back to a fresh password grant.
	a.RevokeUserSessions("alice")
	clock.Advance(3 * time.Minute)
	fresh, err := ts.Token(ctx)
	require.NoError(t, err)
	assert.NotEqual(t, renewed.AccessToken, fresh.AccessToken)
	assert.Equal(t, 2, a.Count(authority.GrantRefreshToken))
	assert.Equal(t, 2, a.Count(authority.GrantPassword))
}

func TestCachedSourceRefreshAhead(t *testing.T) {
	clock := newFakeClock()
	a := newAuthority(t, testutil.Options{Now: clock.Now, TokenLifetime: 2 * time.Minute})
	c := newClient(t, a, authority.Config{ClientID: "gateway", ClientSecret: "gateway-secret", Now: clock.Now})
	ts := authority.NewCachedSource(c, authority.ClientCredentialsRequest{}, authority.CachedSourceOptions{Skew: 30 * time.Second})
	ended := renewalEnds(ts)
	ctx := context.Background()

	first, err := ts.Token(ctx)
	require.NoError(t, err)
	require.NoError(t, waitRenewal(t, ended))
	clock.Advance(100 * time.Second) // 20s left: inside the skew
	got, err := ts.Token(ctx)
	require.NoError(t, err)
	assert.Same(t, first, got, "inside the skew the caller gets the current token without waiting")

	require.NoError(t, waitRenewal(t, ended))
	tok, err := ts.Token(ctx)
	require.NoError(t, err)
	assert.NotEqual(t, first.AccessToken, tok.AccessToken, "a background renewal replaces the token")
	assert.Equal(t, 2, a.Count(authority.GrantClientCredentials))
}

func TestCachedSourceInvalidate(t *testing.T) {
	a := newAuthority(t, testutil.Options{})
	c := newClient(t, a, authority.Config{ClientID: "gateway", ClientSecret: "gateway-secret"})
	ts := authority.NewCachedSource(c, authority.ClientCredentialsRequest{}, authority.CachedSourceOptions{})
	ctx := context.Background()

	first, err := ts.Token(ctx)
	require.NoError(t, err)
	ts.Invalidate(first)
	second, err := ts.Token(ctx)
	require.NoError(t, err)
	assert.NotEqual(t, first.AccessToken, second.AccessToken)

	ts.Invalidate(first) // stale: the source has moved on
	third, err := ts.Token(ctx)
	require.NoError(t, err)
	assert.Same(t, second, third)
	assert.Equal(t, 2, a.Count(authority.GrantClientCredentials))

	ts.Invalidate(nil)
	_, err = ts.Token(ctx)
	require.NoError(t, err)
	assert.Equal(t, 3, a.Count(authority.GrantClientCredentials))
}

func TestCachedSourceErrorsAndCancellation(t *testing.T) {
	a := newAuthority(t, testutil.Options{})
	c := newClient(t, a, authority.Config{ClientID: "gateway", ClientSecret: "gateway-secret"})
	ts := authority.NewCachedSource(c, authority.ClientCredentialsRequest{}, authority.CachedSourceOptions{RenewTimeout: 5 * time.Second})

	a.InjectFaults(1, testutil.Fault{Kind: testutil.FaultOAuthError, Status: 401, Body: "invalid_client"})
	_, err := ts.Token(context.Background())
	require.ErrorIs(t, err, authority.ErrInvalidClient)

	// A slow authority: the impatient caller returns when its context
	// ends, while the renewal, held at the gate, goes on; a patient caller
	// then gets its token from that one request.
	a.Reset()
	gate := newGate(a.Client().Transport)
	c = newClient(t, a, authority.Config{ClientID: "gateway", ClientSecret: "gateway-secret", HTTPClient: &http.Client{Transport: gate}})
	ts = authority.NewCachedSource(c, authority.ClientCredentialsRequest{}, authority.CachedSourceOptions{RenewTimeout: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-gate.arrived // the renewal's request is at the gate
		cancel()
	}()
	_, err = ts.Token(ctx)
	require.ErrorIs(t, err, context.Canceled, "the impatient caller does not wait for the renewal")

	close(gate.release)
	tok, err := ts.Token(context.Background())
	require.NoError(t, err)
	assert.NotEmpty(t, tok.AccessToken)
	assert.Equal(t, 1, a.Count(authority.GrantClientCredentials), "the patient caller joined the renewal the impatient one started")
}

// gate is a RoundTripper that holds each request until release is closed,
// after telling arrived.
type gate struct {
	base    http.RoundTripper
	arrived chan struct{}
	release chan struct{}
}

func newGate(base http.RoundTripper) *gate {
	return &gate{base: base, arrived: make(chan struct{}, 16), release: make(chan struct{})}
}

func (g *gate) RoundTrip(req *http.Request) (*http.Response, error) {
	g.arrived <- struct{}{}
	select {
	case <-g.release:
	case <-req.Context().Done():
		return nil, req.Context().Err()
	}
	return g.base.RoundTrip(req)
}

func TestCachedSourceShortLivedToken(t *testing.T) {
	clock := newFakeClock()
	a := newAuthority(t, testutil.Options{Now: clock.Now, TokenLifetime: 20 * time.Second})
	c := newClient(t, a, authority.Config{ClientID: "gateway", ClientSecret: "gateway-secret", Now: clock.Now})
	ts := authority.NewCachedSource(c, authority.ClientCredentialsRequest{}, authority.CachedSourceOptions{Skew: 30 * time.Second})
	ended := renewalEnds(ts)
	ctx := context.Background()

	first, err := ts.Token(ctx)
	require.NoError(t, err)
	require.NoError(t, waitRenewal(t, ended))
	for range 50 {
		tok, err := ts.Token(ctx)
		require.NoError(t, err)
		assert.Same(t, first, tok)
	}
	assert.Equal(t, 1, a.Count(authority.GrantClientCredentials), "a token living less than the skew is renewed at half its life, not at once")

	clock.Advance(11 * time.Second) // past half its life: renew in the background
	_, err = ts.Token(ctx)
	require.NoError(t, err)
	require.NoError(t, waitRenewal(t, ended))
	assert.Equal(t, 2, a.Count(authority.GrantClientCredentials))
}

func TestCachedSourceBacksOffFailedRenewals(t *testing.T) {
	clock := newFakeClock()
	a := newAuthority(t, testutil.Options{Now: clock.Now, TokenLifetime: 2 * time.Minute})
	c := newClient(t, a, authority.Config{ClientID: "gateway", ClientSecret: "gateway-secret", Now: clock.Now})
	ts := authority.NewCachedSource(c, authority.ClientCredentialsRequest{}, authority.CachedSourceOptions{Skew: 60 * time.Second})
	ended := renewalEnds(ts)
	ctx := context.Background()
	first, err := ts.Token(ctx)
	require.NoError(t, err)
	require.NoError(t, waitRenewal(t, ended))

	a.InjectFaults(1000, testutil.Fault{Status: http.StatusServiceUnavailable})
	clock.Advance(70 * time.Second) // inside the skew, still valid
	for range 2000 {
		tok, err := ts.Token(ctx)
		require.NoError(t, err, "the current token is served while renewals fail")
		assert.Same(t, first, tok)
	}
	// The clock moves only after the failed renewal has ended: the
	// backoff counts from the failure, on the clock the renewal saw.
	require.Error(t, waitRenewal(t, ended))
	for range 2000 {
		_, _ = ts.Token(ctx)
	}
	if !assert.Equal(t, 1, a.FaultsServed(), "a failed renewal waits before the next one") {
		for _, r := range a.Requests() {
			t.Log(r.Grant, r.Time)
		}
	}

	clock.Advance(20 * time.Second) // past the backoff (at most skew/4 = 15s)
	_, _ = ts.Token(ctx)
	require.Error(t, waitRenewal(t, ended))
	assert.Equal(t, 2, a.FaultsServed())
}

// renewalEnds returns a channel that receives the result of each renewal
// of ts once it has ended. A renewal never blocks on it: past the first
// 1024 unread results, results are dropped.
func renewalEnds(ts *authority.CachedSource) <-chan error {
	ch := make(chan error, 1024)
	authority.OnRenewEnd(ts, func(err error) {
		select {
		case ch <- err:
		default:
		}
	})
	return ch
}

// waitRenewal waits for the next renewal to end and returns its error. The
// timeout only keeps a broken test from hanging.
func waitRenewal(t *testing.T, ended <-chan error) error {
	t.Helper()
	select {
	case err := <-ended:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("no renewal ended")
		return nil
	}
}

func TestNewCachedSourcePanicsWithoutClient(t *testing.T) {
	assert.PanicsWithValue(t, "authority: NewCachedSource needs a Client and a Grant", func() {
		authority.NewCachedSource(nil, authority.ClientCredentialsRequest{}, authority.CachedSourceOptions{})
	})
}

// ctxProbe is a RoundTripper that records whether a request carried the
// value of probeKey in its context.
type ctxProbe struct {
	base http.RoundTripper
	seen atomic.Int32
}

type probeKey struct{}

func (p *ctxProbe) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Context().Value(probeKey{}) != nil {
		p.seen.Add(1)
	}
	return p.base.RoundTrip(req)
}

func TestCachedSourceRenewalDropsCallerValues(t *testing.T) {
	a := newAuthority(t, testutil.Options{})
	probe := &ctxProbe{base: a.Client().Transport}
	c := newClient(t, a, authority.Config{ClientID: "gateway", ClientSecret: "gateway-secret", HTTPClient: &http.Client{Transport: probe}})
	ts := authority.NewCachedSource(c, authority.ClientCredentialsRequest{}, authority.CachedSourceOptions{})

	ctx := context.WithValue(context.Background(), probeKey{}, "a caller's request-scoped value")
	_, err := ts.Token(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, a.Count(authority.GrantClientCredentials))
	assert.Zero(t, probe.seen.Load(), "the shared renewal carried the context values of the caller that started it")
}
