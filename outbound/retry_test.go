package outbound_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
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

func post(t *testing.T, rt http.RoundTripper, subject, url string, body io.Reader) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(middleware.NewContext(context.Background(), subject), http.MethodPost, url, body)
	require.NoError(t, err)
	resp, err := rt.RoundTrip(req)
	require.NoError(t, err)
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

func TestRetryOn401(t *testing.T) {
	e := newEnv(t)
	alice := e.a.UserToken("alice", "web")
	own := e.ownTokens("billing")
	tr := newTransport(t, outbound.Options{Exchanger: e.x, Routes: []outbound.Route{
		{URL: e.orders.URL, Mode: outbound.ModeExchange, Target: exchange.Target{Audiences: []string{"orders"}}},
		{URL: e.billing.URL + "/own", Mode: outbound.ModeOwnToken, Tokens: own},
		{URL: e.billing.URL + "/passed", Mode: outbound.ModePassThrough},
	}})
	warm := func() {
		t.Helper()
		e.orders.Reset()
		e.billing.Reset()
		mustGet(t, tr, alice, e.orders.URL+"/warm")
		mustGet(t, tr, alice, e.billing.URL+"/own/warm")
		e.orders.Reset()
		e.billing.Reset()
	}

	t.Run("replayable body is sent again with a fresh token", func(t *testing.T) {
		warm()
		exchanges := e.a.ExchangesFor("alice")
		e.orders.FailNext(1, http.StatusUnauthorized)
		resp := post(t, tr, alice, e.orders.URL+"/orders", bytes.NewReader([]byte(`{"qty":1}`)))
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		got := e.orders.Received()
		require.Len(t, got, 2)
		assert.Equal(t, `{"qty":1}`, string(got[0].Body))
		assert.Equal(t, `{"qty":1}`, string(got[1].Body))
		assert.True(t, got[1].Authorized, got[1].Err)
		assert.NotEqual(t, got[0].Token, got[1].Token, "a fresh token")
		assert.Equal(t, exchanges+1, e.a.ExchangesFor("alice"), "one new exchange")
	})
	t.Run("no body is replayable", func(t *testing.T) {
		warm()
		e.orders.FailNext(1, http.StatusUnauthorized)
		assert.Equal(t, http.StatusOK, mustGet(t, tr, alice, e.orders.URL+"/get"))
		assert.Len(t, e.orders.Received(), 2)
	})
	t.Run("non-replayable body is not retried", func(t *testing.T) {
		warm()
		e.orders.FailNext(1, http.StatusUnauthorized)
		resp := post(t, tr, alice, e.orders.URL+"/orders", io.NopCloser(strings.NewReader("stream")))
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		assert.Equal(t, `Bearer error="invalid_token"`, resp.Header.Get("WWW-Authenticate"))
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		assert.Contains(t, string(b), "Unauthorized", "the 401 is returned readable")
		assert.Len(t, e.orders.Received(), 1)
	})
	t.Run("a second 401 is returned after exactly two calls", func(t *testing.T) {
		warm()
		e.orders.FailNext(5, http.StatusUnauthorized)
		resp := post(t, tr, alice, e.orders.URL+"/orders", strings.NewReader("again"))
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		assert.Contains(t, string(b), "Unauthorized")
		got := e.orders.Received()
		require.Len(t, got, 2)
		assert.Equal(t, "again", string(got[1].Body))
	})
	t.Run("own token is invalidated and renewed", func(t *testing.T) {
		warm()
		before, err := own.Token(context.Background())
		require.NoError(t, err)
		e.billing.FailNext(1, http.StatusUnauthorized)
		resp := post(t, tr, alice, e.billing.URL+"/own/x", strings.NewReader("x"))
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		got := e.billing.Received()
		require.Len(t, got, 2)
		assert.Equal(t, before.AccessToken, got[0].Token)
		assert.NotEqual(t, before.AccessToken, got[1].Token)
		assert.True(t, got[1].Authorized, got[1].Err)
	})
	t.Run("pass-through is not retried", func(t *testing.T) {
		warm()
		e.billing.FailNext(1, http.StatusUnauthorized)
		assert.Equal(t, http.StatusUnauthorized, mustGet(t, tr, alice, e.billing.URL+"/passed"))
		assert.Len(t, e.billing.Received(), 1)
	})
}

// TestRetryDiscardsResponse: the 401 answer dropped for the retry is
// drained and closed; the final answer is the caller's to close.
func TestRetryDiscardsResponse(t *testing.T) {
	base := &fakeBase{statuses: []int{http.StatusUnauthorized}}
	src := &staticTokens{name: "own"}
	tr := newTransport(t, outbound.Options{Base: base, Routes: []outbound.Route{
		{URL: "https://orders.internal", Mode: outbound.ModeOwnToken, Tokens: src},
	}})
	resp := post(t, tr, "alice", "https://orders.internal/x", strings.NewReader("payload"))
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	require.Len(t, base.served, 2)
	assert.True(t, base.served[0].closed.Load())
	assert.Zero(t, base.served[0].Len(), "drained")
	assert.False(t, base.served[1].closed.Load())
	assert.Equal(t, []string{"payload", "payload"}, base.bodies)
	assert.EqualValues(t, 1, src.invalidated.Load())
}

// TestRetryNeedsAFreshToken: when the source has nothing new, the 401 is
// returned without a second call.
func TestRetryNeedsAFreshToken(t *testing.T) {
	base := &fakeBase{statuses: []int{http.StatusUnauthorized}}
	tr := newTransport(t, outbound.Options{Base: base, Routes: []outbound.Route{
		{URL: "https://orders.internal", Mode: outbound.ModeOwnToken, Tokens: stuckTokens{}},
	}})
	resp := post(t, tr, "alice", "https://orders.internal/x", nil)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Equal(t, 1, base.count())
	assert.False(t, base.served[0].closed.Load(), "the returned response stays open")
}

// stuckTokens always returns the same token.
type stuckTokens struct{}

func (stuckTokens) Token(context.Context) (*authority.Token, error) {
	return &authority.Token{AccessToken: "stuck", Expiry: time.Now().Add(time.Hour)}, nil
}

func (stuckTokens) Invalidate(*authority.Token) {}

// failingTokens hands out "good" until Invalidate, then fails with err.
type failingTokens struct {
	err         error
	invalidated atomic.Bool
}

func (f *failingTokens) Token(context.Context) (*authority.Token, error) {
	if f.invalidated.Load() {
		return nil, f.err
	}
	return &authority.Token{AccessToken: "good", Expiry: time.Now().Add(time.Hour)}, nil
}

func (f *failingTokens) Invalidate(*authority.Token) { f.invalidated.Store(true) }

// TestRetryFreshTokenFails: when the fresh token for the retry cannot be
// had, the downstream 401 is drained, closed and replaced by the
// TokenError, which maps like the first exchange's would: an authority
// outage is 503, not a 401 blaming the caller.
func TestRetryFreshTokenFails(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
	}{
		{"authority unavailable", &authority.Error{Grant: authority.GrantClientCredentials, StatusCode: 503, RetryAfter: 3 * time.Second}, http.StatusServiceUnavailable},
		{"authority unreachable", &url.Error{Op: "Post", URL: "https://as", Err: &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}}, http.StatusServiceUnavailable},
		{"own credentials refused", &authority.Error{Grant: authority.GrantClientCredentials, Code: "invalid_client", StatusCode: 401}, http.StatusBadGateway},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := &fakeBase{statuses: []int{http.StatusUnauthorized}}
			tr := newTransport(t, outbound.Options{Base: base, Routes: []outbound.Route{
				{URL: "https://orders.internal", Mode: outbound.ModeOwnToken, Tokens: &failingTokens{err: tt.err}},
			}})
			req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, "https://orders.internal/x", strings.NewReader("payload"))
			require.NoError(t, err)
			resp, err := tr.RoundTrip(req)
			require.Error(t, err)
			assert.Nil(t, resp)
			var te *outbound.TokenError
			require.ErrorAs(t, err, &te)
			require.ErrorIs(t, err, tt.err)
			status, _ := outbound.StatusFor(err)
			assert.Equal(t, tt.status, status)
			require.Len(t, base.served, 1, "not resent")
			assert.True(t, base.served[0].closed.Load(), "the 401 is closed")
			assert.Zero(t, base.served[0].Len(), "and drained")
		})
	}
}

// TestRetryReexchangeFails: the same against the authority: a temporary
// failure of the re-exchange is 503, a refusal of the subject token 401
// invalid_token.
func TestRetryReexchangeFails(t *testing.T) {
	e := newEnv(t)
	tr := newTransport(t, outbound.Options{Exchanger: e.x, Routes: []outbound.Route{
		{URL: e.orders.URL, Mode: outbound.ModeExchange, Target: exchange.Target{Audiences: []string{"orders"}}},
	}})
	tests := []struct {
		name   string
		fault  testutil.Fault
		status int
		header string
	}{
		{"503", testutil.Fault{Status: 503, Header: http.Header{"Retry-After": {"4"}}}, http.StatusServiceUnavailable, "Retry-After"},
		{"dropped", testutil.Fault{Kind: testutil.FaultDrop}, http.StatusServiceUnavailable, ""},
		{"invalid_grant", testutil.Fault{Kind: testutil.FaultOAuthError, Status: 400, Body: "invalid_grant"}, http.StatusUnauthorized, "Www-Authenticate"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			alice := e.a.UserToken(fmt.Sprintf("alice%d", i), "web")
			mustGet(t, tr, alice, e.orders.URL+"/warm")
			e.orders.Reset()
			e.orders.FailNext(1, http.StatusUnauthorized)
			e.a.InjectFaults(1, tt.fault)
			_, err := get(t, tr, alice, e.orders.URL+"/x")
			require.Error(t, err)
			var te *outbound.TokenError
			require.ErrorAs(t, err, &te)
			status, h := outbound.StatusFor(err)
			assert.Equal(t, tt.status, status, err.Error())
			if tt.header != "" {
				assert.NotEmpty(t, h.Get(tt.header))
			}
			assert.Len(t, e.orders.Received(), 1, "not resent")
		})
	}
}

// TestRetryGetBodyFails: when the body cannot be had again, the 401 is
// returned as it is, readable, after one call.
func TestRetryGetBodyFails(t *testing.T) {
	base := &fakeBase{statuses: []int{http.StatusUnauthorized}}
	src := &staticTokens{name: "own"}
	tr := newTransport(t, outbound.Options{Base: base, Routes: []outbound.Route{
		{URL: "https://orders.internal", Mode: outbound.ModeOwnToken, Tokens: src},
	}})
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, "https://orders.internal/x", strings.NewReader("payload"))
	require.NoError(t, err)
	req.GetBody = func() (io.ReadCloser, error) { return nil, errors.New("body gone") }
	resp, err := tr.RoundTrip(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Len(t, b, 100, "the 401 is returned unread")
	assert.Equal(t, 1, base.count())
	assert.False(t, base.served[0].closed.Load())
}
