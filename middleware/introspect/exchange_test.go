package introspect

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/outbound"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// TestOpaqueSubjectExchanged: a gateway validates an opaque token by
// introspection, then exchanges it (as the subject) for a token of the
// downstream through outbound and exchange. The downstream sees the user;
// once the token is revoked and the cache window has passed, the gateway
// refuses it before any exchange.
func TestOpaqueSubjectExchanged(t *testing.T) {
	e := newEnv(t, nil)
	orders := testutil.NewResourceServer(t, e.a, "orders")
	x, err := exchange.New(e.client, exchange.Options{NegativeTTL: -1})
	require.NoError(t, err)
	t.Cleanup(x.Close)
	tr, err := outbound.New(outbound.Options{
		Base:      e.a.Client().Transport,
		Exchanger: x,
		Routes: []outbound.Route{{URL: orders.URL, Mode: outbound.ModeExchange, Target: exchange.Target{
			Audiences: []string{"orders"},
		}}},
	})
	require.NoError(t, err)
	target, err := url.Parse(orders.URL)
	require.NoError(t, err)
	gateway := httptest.NewServer(middleware.Bearer(middleware.Options{Validator: e.v, RequiredScopes: []string{"read"}})(
		outbound.NewReverseProxy(target, tr, nil)))
	t.Cleanup(gateway.Close)

	tok := e.token("alice")
	get := func() int {
		req, err := http.NewRequest(http.MethodGet, gateway.URL+"/orders/1", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := gateway.Client().Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusOK, get())
	got := orders.Received()
	require.Len(t, got, 1)
	assert.Equal(t, "alice", got[0].Subject)
	assert.Equal(t, 1, e.a.ExchangesFor("alice"))

	e.a.Revoke(tok)
	e.clock.Advance(DefaultMaxAge)
	require.Equal(t, http.StatusUnauthorized, get())
	assert.Len(t, orders.Received(), 1)
}
