package outbound_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/outbound"
)

// countingExchanger is an outbound.Exchanger of the test's own: it counts
// its calls and delegates to a real exchanger. It has no
// InvalidatePrepared method (x is a named field, so that the method of
// *exchange.Exchanger is not promoted).
type countingExchanger struct {
	x         *exchange.Exchanger
	exchanges atomic.Int64
}

func (c *countingExchanger) ExchangePrepared(ctx context.Context, subject authority.SubjectToken, p *exchange.Prepared) (*authority.Token, error) {
	c.exchanges.Add(1)
	return c.x.ExchangePrepared(ctx, subject, p)
}

// invalidatingExchanger is countingExchanger with the optional
// outbound.ExchangeInvalidator.
type invalidatingExchanger struct {
	countingExchanger
	invalidations atomic.Int64
}

func (c *invalidatingExchanger) InvalidatePrepared(ctx context.Context, subject authority.SubjectToken, p *exchange.Prepared, refused *authority.Token) bool {
	c.invalidations.Add(1)
	return c.x.InvalidatePrepared(ctx, subject, p, refused)
}

var (
	_ outbound.Exchanger           = (*countingExchanger)(nil)
	_ outbound.Exchanger           = (*invalidatingExchanger)(nil)
	_ outbound.ExchangeInvalidator = (*invalidatingExchanger)(nil)
	_ outbound.ExchangeInvalidator = (*exchange.Exchanger)(nil)
	_ outbound.Exchanger           = (*exchange.Exchanger)(nil)
)

// TestExchangerInterface: a route's exchanger may be any
// outbound.Exchanger, set on the route or in Options. It serves the
// exchanges end to end; after a downstream 401 the refused token is
// invalidated through the optional ExchangeInvalidator and the request
// resent with a fresh token, and without that interface the 401 is
// passed on (the exchanger has no other token) with no new exchange.
func TestExchangerInterface(t *testing.T) {
	for _, tc := range []struct {
		name        string
		invalidates bool
		onRoute     bool
	}{
		{"with invalidator, in Options", true, false},
		{"with invalidator, on the Route", true, true},
		{"without invalidator, in Options", false, false},
		{"without invalidator, on the Route", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			alice := e.a.UserToken("alice", "web")
			var (
				ex      outbound.Exchanger
				counter *countingExchanger
				inv     *invalidatingExchanger
			)
			if tc.invalidates {
				inv = &invalidatingExchanger{countingExchanger: countingExchanger{x: e.x}}
				ex, counter = inv, &inv.countingExchanger
			} else {
				counter = &countingExchanger{x: e.x}
				ex = counter
			}
			rt := outbound.Route{URL: e.orders.URL, Mode: outbound.ModeExchange, Target: exchange.Target{Audiences: []string{"orders"}}}
			opts := outbound.Options{Routes: []outbound.Route{rt}}
			if tc.onRoute {
				opts.Routes[0].Exchanger = ex
			} else {
				opts.Exchanger = ex
			}
			tr := newTransport(t, opts)

			require.Equal(t, http.StatusOK, mustGet(t, tr, alice, e.orders.URL+"/orders/1"))
			got := e.orders.Received()
			require.Len(t, got, 1)
			assert.True(t, got[0].Authorized, got[0].Err)
			assert.Equal(t, []string{"orders"}, got[0].Audience)
			assert.NotEqual(t, alice, got[0].Token, "an exchanged token, not the caller's")
			assert.Equal(t, int64(1), counter.exchanges.Load())
			assert.Equal(t, 1, e.a.ExchangesFor("alice"))

			e.orders.Reset()
			e.orders.FailNext(1, http.StatusUnauthorized)
			status := mustGet(t, tr, alice, e.orders.URL+"/orders/2")
			got = e.orders.Received()
			// The first try, then (refused token) the cached token again.
			if tc.invalidates {
				assert.Equal(t, http.StatusOK, status, "resent with a fresh token")
				require.Len(t, got, 2)
				assert.NotEqual(t, got[0].Token, got[1].Token, "a fresh token")
				assert.True(t, got[1].Authorized, got[1].Err)
				assert.Equal(t, int64(1), inv.invalidations.Load())
				assert.Equal(t, int64(4), counter.exchanges.Load(), "first try, the refused token again, the fresh one")
				assert.Equal(t, 2, e.a.ExchangesFor("alice"), "one new exchange")
				assert.Equal(t, uint64(1), tr.Stats().Retries)
			} else {
				assert.Equal(t, http.StatusUnauthorized, status, "no other token: the 401 is passed on")
				assert.Len(t, got, 1, "not resent")
				assert.Equal(t, int64(4), counter.exchanges.Load(), "first try, then twice the refused token")
				assert.Equal(t, 1, e.a.ExchangesFor("alice"), "no new exchange")
				assert.Equal(t, uint64(0), tr.Stats().Retries)
				assert.Equal(t, uint64(1), tr.Stats().PassedOn)
			}
		})
	}
}

// TestExchangerTypedNil: a nil *exchange.Exchanger in Options or on a
// Route is no exchanger (not a non-nil interface that would panic on the
// first request): New refuses the exchange route.
func TestExchangerTypedNil(t *testing.T) {
	var none *exchange.Exchanger
	target := exchange.Target{Audiences: []string{"orders"}}
	for _, tc := range []struct {
		name string
		opts outbound.Options
	}{
		{"Options", outbound.Options{Exchanger: none, Routes: []outbound.Route{{URL: "https://orders.internal", Mode: outbound.ModeExchange, Target: target}}}},
		{"Route", outbound.Options{Routes: []outbound.Route{{URL: "https://orders.internal", Mode: outbound.ModeExchange, Target: target, Exchanger: none}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := outbound.New(tc.opts)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "without an Exchanger")
		})
	}
	// On a route of another mode, a typed nil is no Exchanger either.
	_, err := outbound.New(outbound.Options{Routes: []outbound.Route{{URL: "https://none.internal", Mode: outbound.ModeNone, Exchanger: none}}})
	require.NoError(t, err)
}

// TestTypedNilOptions: a nil pointer in the other interface-typed fields
// is no value either: a nil *authority.CachedSource as a route's Tokens
// is refused by New (not a panic on the first request), and a nil
// *http.Transport as Base means http.DefaultTransport (not a panic in
// New's proxy check or on the first request).
func TestTypedNilOptions(t *testing.T) {
	var noTokens *authority.CachedSource
	_, err := outbound.New(outbound.Options{Routes: []outbound.Route{{URL: "https://billing.internal", Mode: outbound.ModeOwnToken, Tokens: noTokens}}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "without Tokens")
	_, err = outbound.New(outbound.Options{Routes: []outbound.Route{{URL: "https://none.internal", Mode: outbound.ModeNone, Tokens: noTokens}}})
	require.NoError(t, err, "a nil pointer is no Tokens on a route that takes none")

	var noBase *http.Transport
	plain := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(plain.Close)
	tr := newTransport(t, outbound.Options{Base: noBase, Routes: []outbound.Route{{URL: plain.URL, Mode: outbound.ModeNone}}})
	assert.Equal(t, http.StatusOK, mustGet(t, tr, "", plain.URL+"/x"))
	tr.CloseIdleConnections()
}
