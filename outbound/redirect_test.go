package outbound_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/outbound"
)

// headerLog is a server that records the Authorization header of every
// request and redirects according to redirects (path -> location).
type headerLog struct {
	*httptest.Server
	mu   sync.Mutex // guards seen
	seen []string
}

func newHeaderLog(t *testing.T, redirects map[string]string) *headerLog {
	h := &headerLog{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.seen = append(h.seen, r.Header.Get("Authorization"))
		h.mu.Unlock()
		if to, ok := redirects[r.URL.Path]; ok {
			http.Redirect(w, r, to, http.StatusFound)
		}
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *headerLog) authorizations() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.seen...)
}

// TestRedirects: the token is chosen afresh on every hop. All test servers
// share the host 127.0.0.1, so http.Client would copy an Authorization
// header set on the caller's request to every hop; the transport never
// sets it there.
func TestRedirects(t *testing.T) {
	e := newEnv(t)
	alice := e.a.UserToken("alice", "web")
	unlisted := newHeaderLog(t, nil)
	hop := newHeaderLog(t, map[string]string{
		"/to-unlisted": unlisted.URL + "/landing",
		"/to-billing":  e.billing.URL + "/invoices",
	})
	routes := []outbound.Route{
		{URL: hop.URL, Mode: outbound.ModeExchange, Target: exchange.Target{Audiences: []string{"orders"}}},
		{URL: e.billing.URL, Mode: outbound.ModeExchange, Target: exchange.Target{Audiences: []string{"billing"}}},
	}

	t.Run("to an unlisted host fails closed", func(t *testing.T) {
		tr := newTransport(t, outbound.Options{Exchanger: e.x, Routes: routes})
		_, err := get(t, tr, alice, hop.URL+"/to-unlisted")
		require.ErrorIs(t, err, outbound.ErrNoRoute)
		require.Len(t, hop.authorizations(), 1)
		assert.NotEmpty(t, hop.authorizations()[0], "the routed hop got its token")
		assert.Empty(t, unlisted.authorizations(), "the unlisted host got no request at all")
	})
	t.Run("to an unlisted host with AllowUnrouted gets no token", func(t *testing.T) {
		tr := newTransport(t, outbound.Options{Exchanger: e.x, Routes: routes, AllowUnrouted: true})
		assert.Equal(t, http.StatusOK, mustGet(t, tr, alice, hop.URL+"/to-unlisted"))
		assert.Equal(t, []string{""}, unlisted.authorizations())
	})
	t.Run("to another routed host gets that host's token", func(t *testing.T) {
		tr := newTransport(t, outbound.Options{Exchanger: e.x, Routes: routes})
		assert.Equal(t, http.StatusOK, mustGet(t, tr, alice, hop.URL+"/to-billing"))
		got := e.billing.Received()
		require.Len(t, got, 1)
		assert.True(t, got[0].Authorized, got[0].Err)
		assert.Equal(t, []string{"billing"}, got[0].Audience)
		assert.Equal(t, "alice", got[0].Subject)
		hopAuth := hop.authorizations()
		assert.NotEqual(t, "Bearer "+got[0].Token, hopAuth[len(hopAuth)-1], "billing did not get the orders token")
	})
	t.Run("a caller-set subject token is not carried to an unlisted host", func(t *testing.T) {
		tr := newTransport(t, outbound.Options{Exchanger: e.x, Routes: routes, AllowUnrouted: true})
		req, err := http.NewRequestWithContext(middleware.NewContext(context.Background(), alice), http.MethodGet, hop.URL+"/to-unlisted", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+alice) // http.Client copies it to 127.0.0.1:<other port>
		resp, err := (&http.Client{Transport: tr}).Do(req)
		require.NoError(t, err)
		_ = resp.Body.Close()
		seen := unlisted.authorizations()
		assert.Equal(t, "", seen[len(seen)-1])
		for _, h := range hop.authorizations() {
			assert.NotContains(t, h, alice)
		}
	})
}
