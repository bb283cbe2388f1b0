package outbound_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/outbound"
)

// TestDestinationInvalidate pins Invalidate without a protocol: the
// refused token is dropped (the next Token exchanges again), a token got
// after that drop and refused too opens the refusal window, in which
// nothing is dropped and Retry passes on; and the cases where nothing is
// done.
func TestDestinationInvalidate(t *testing.T) {
	e := newEnv(t)
	tr := newTransport(t, outbound.Options{Exchanger: e.x, RefusalWindow: time.Hour, Routes: []outbound.Route{
		{URL: e.orders.URL, Mode: outbound.ModeExchange, Target: exchange.Target{Audiences: []string{"orders"}}},
		{URL: e.billing.URL, Mode: outbound.ModePassThrough},
	}})
	d, err := tr.Destination(e.orders.URL)
	require.NoError(t, err)
	ctx := middleware.NewContext(context.Background(), e.a.UserToken("alice", "web", "gateway"))

	first, err := d.Token(ctx)
	require.NoError(t, err)
	d.Invalidate(ctx, first)
	d.Invalidate(ctx, first) // the same refusal seen twice: no window
	fresh, err := d.Token(ctx)
	require.NoError(t, err)
	assert.NotEqual(t, first.AccessToken, fresh.AccessToken)
	assert.Equal(t, 2, e.a.ExchangesFor("alice"))
	assert.Equal(t, uint64(0), tr.Stats().FreshRefused)

	d.Invalidate(ctx, fresh) // refused too: the window opens, fresh stays
	again, err := d.Token(ctx)
	require.NoError(t, err)
	assert.Equal(t, fresh.AccessToken, again.AccessToken)
	d.Invalidate(ctx, again)
	resent, err := d.Retry(ctx, again, func(*authority.Token) bool {
		t.Error("resent in a refusal window")
		return true
	})
	require.NoError(t, err)
	assert.False(t, resent)
	assert.Equal(t, 2, e.a.ExchangesFor("alice"))
	st := tr.Stats()
	assert.Equal(t, uint64(1), st.FreshRefused)
	assert.Equal(t, uint64(3), st.PassedOn)
	assert.Equal(t, uint64(0), st.Retries)

	t.Run("nothing to do", func(t *testing.T) {
		bob := middleware.NewContext(context.Background(), e.a.UserToken("bob", "web", "gateway"))
		tok, err := d.Token(bob)
		require.NoError(t, err)
		d.Invalidate(bob, nil)
		ended, cancel := context.WithCancel(bob)
		cancel()
		d.Invalidate(ended, tok)
		pt, err := tr.Destination(e.billing.URL)
		require.NoError(t, err)
		pt.Invalidate(bob, tok)
		again, err := d.Token(bob)
		require.NoError(t, err)
		assert.Equal(t, tok.AccessToken, again.AccessToken, "not dropped")
		assert.Equal(t, 1, e.a.ExchangesFor("bob"))
	})
}
