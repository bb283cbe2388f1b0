package outbound_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/outbound"
)

// TestDestination pins the Destination contract without a protocol: the
// route's token for a context, errors as RoundTrip's, and the one retry
// under the refusal windows.
func TestDestination(t *testing.T) {
	e := newEnv(t)
	tr := newTransport(t, outbound.Options{Exchanger: e.x, Routes: []outbound.Route{
		{URL: e.orders.URL, Mode: outbound.ModeExchange, Target: exchange.Target{Audiences: []string{"orders"}}},
		{URL: e.billing.URL, Mode: outbound.ModeNone},
	}})
	_, err := tr.Destination(e.orders.URL + "/")
	require.Error(t, err, "compared exactly")
	d, err := tr.Destination(e.orders.URL)
	require.NoError(t, err)
	assert.Equal(t, outbound.ModeExchange, d.Mode())

	t.Run("errors", func(t *testing.T) {
		_, err := d.Token(context.Background())
		assert.ErrorIs(t, err, outbound.ErrNoInboundContext)
		code, _ := outbound.StatusFor(err)
		assert.Equal(t, http.StatusInternalServerError, code)
		anonymous, err := middleware.NewAuthenticator(middleware.Options{Optional: true}).Authenticate(context.Background(), nil)
		require.NoError(t, err)
		_, err = d.Token(anonymous)
		assert.ErrorIs(t, err, outbound.ErrNoSubjectToken)
		var te *outbound.TokenError
		require.ErrorAs(t, err, &te)
		assert.Equal(t, e.orders.URL, te.Route)
	})

	t.Run("none", func(t *testing.T) {
		dn, err := tr.Destination(e.billing.URL)
		require.NoError(t, err)
		tok, err := dn.Token(context.Background())
		assert.NoError(t, err)
		assert.Nil(t, tok)
	})

	ctx := middleware.NewContext(context.Background(), e.a.UserToken("alice", "web", "gateway"))
	first, err := d.Token(ctx)
	require.NoError(t, err)
	assert.Equal(t, "Bearer "+first.AccessToken, d.Authorization(first))

	var fresh *authority.Token
	resent, err := d.Retry(ctx, first, func(tok *authority.Token) bool {
		fresh = tok
		return false // accepted
	})
	require.NoError(t, err)
	assert.True(t, resent)
	require.NotNil(t, fresh)
	assert.NotEqual(t, first.AccessToken, fresh.AccessToken)
	again, err := d.Token(ctx)
	require.NoError(t, err)
	assert.Equal(t, fresh.AccessToken, again.AccessToken, "the fresh token is cached")

	// The fresh token refused too: a window opens; the next refusal passes on.
	resent, err = d.Retry(ctx, fresh, func(*authority.Token) bool { return true })
	require.NoError(t, err)
	assert.True(t, resent)
	latest, err := d.Token(ctx)
	require.NoError(t, err)
	resent, err = d.Retry(ctx, latest, func(*authority.Token) bool {
		t.Error("resent in a refusal window")
		return true
	})
	require.NoError(t, err)
	assert.False(t, resent)
	st := tr.Stats()
	assert.Equal(t, uint64(2), st.Retries)
	assert.Equal(t, uint64(1), st.FreshRefused)
	assert.Equal(t, uint64(1), st.PassedOn)
	assert.Equal(t, 3, e.a.ExchangesFor("alice"))
}
