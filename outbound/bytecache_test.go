package outbound_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/internal/bytecache"
	"github.com/go-tokenexchange/tokenexchange/outbound"
)

// TestExchangeThroughByteCache runs the exchange route end to end with an
// Exchanger whose Cache keeps entries as bytes, as a shared store does:
// the warm path serves a decoded copy, and a downstream's 401 removes the
// refused token by comparing decoded entries, then the request is sent
// again with a fresh token.
func TestExchangeThroughByteCache(t *testing.T) {
	e := newEnv(t)
	store := bytecache.New(nil)
	x, err := exchange.New(e.client, exchange.Options{Cache: store, NegativeTTL: -1})
	require.NoError(t, err)
	t.Cleanup(x.Close)
	alice := e.a.UserToken("alice", "web", "orders")
	tr := newTransport(t, outbound.Options{
		Exchanger: x,
		Routes: []outbound.Route{
			{URL: e.orders.URL, Mode: outbound.ModeExchange, Target: exchange.Target{Audiences: []string{"orders"}}},
		},
	})

	for range 3 {
		assert.Equal(t, http.StatusOK, mustGet(t, tr, alice, e.orders.URL+"/warm"))
	}
	got := e.orders.Received()
	require.Len(t, got, 3)
	for _, r := range got {
		assert.True(t, r.Authorized, r.Err)
		assert.Equal(t, "alice", r.Subject)
		assert.Equal(t, []string{"orders"}, r.Audience)
	}
	assert.Equal(t, got[0].Token, got[2].Token, "served from the byte cache")
	assert.Equal(t, 1, e.a.ExchangesFor("alice"))
	assert.Equal(t, 1, store.Len())
	assert.Equal(t, 1, store.Stats().Sets)

	// The downstream refuses the cached token: it is removed from the
	// store, a new one exchanged, stored, and sent.
	e.orders.Reset()
	e.orders.FailNext(1, http.StatusUnauthorized)
	assert.Equal(t, http.StatusOK, mustGet(t, tr, alice, e.orders.URL+"/refused"))
	got = e.orders.Received()
	require.Len(t, got, 2)
	assert.False(t, got[0].Authorized)
	assert.True(t, got[1].Authorized, got[1].Err)
	assert.NotEqual(t, got[0].Token, got[1].Token, "a fresh token")
	assert.Equal(t, 2, e.a.ExchangesFor("alice"))
	assert.Equal(t, 1, store.Stats().CompareAndDeletes, "the refused token was removed by comparison")
	assert.Equal(t, 2, store.Stats().Sets, "the fresh token was stored")

	e.orders.Reset()
	assert.Equal(t, http.StatusOK, mustGet(t, tr, alice, e.orders.URL+"/again"))
	got = e.orders.Received()
	require.Len(t, got, 1)
	assert.Equal(t, 2, e.a.ExchangesFor("alice"), "the fresh token is served from the store")
	assert.Zero(t, x.Stats().CacheErrors)
}
