package middleware_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
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

// TestIntrospectionEndToEnd runs the whole path with the introspection
// validator in front: the caller's token is validated by the RFC 7662
// endpoint, the handler calls a downstream through the outbound transport,
// which exchanges the token (once, then from the cache) for one meant for
// the downstream. A caller the endpoint does not know never reaches the
// handler, and no exchange is attempted for it.
func TestIntrospectionEndToEnd(t *testing.T) {
	as := testutil.NewAuthority(t, testutil.Options{})
	as.AddClient(testutil.Client{ID: "gateway", Secret: "s3cret", ExchangeAudiences: []string{"inventory"}})
	inventory := testutil.NewResourceServer(t, as, "inventory")

	client, err := authority.New(authority.Config{TokenURL: as.TokenURL(), ClientID: "gateway", ClientSecret: "s3cret", HTTPClient: as.Client()})
	require.NoError(t, err)
	x, err := exchange.New(client, exchange.Options{})
	require.NoError(t, err)
	t.Cleanup(x.Close)
	tr, err := outbound.New(outbound.Options{
		Exchanger: x,
		Routes: []outbound.Route{{
			URL:    inventory.URL + "/stock",
			Mode:   outbound.ModeExchange,
			Target: exchange.Target{Audiences: []string{"inventory"}},
		}},
	})
	require.NoError(t, err)
	downstream := &http.Client{Transport: tr}

	alice := as.UserToken("alice", "web")
	e := newIntrospectionEndpoint(t)
	e.activate(alice, `"sub":"alice","aud":"orders","scope":"orders:read","exp":`+strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10))

	gateway := httptest.NewServer(middleware.Bearer(middleware.Options{
		Validator:      e.validator(time.Now()),
		RequiredScopes: []string{"orders:read"},
	})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, inventory.URL+"/stock/42", nil)
		if err != nil {
			t.Error(err)
			return
		}
		resp, err := downstream.Do(req)
		if err != nil {
			t.Errorf("downstream call: %v", err)
			http.Error(w, "downstream call failed", http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	})))
	t.Cleanup(gateway.Close)

	call := func(token string) (int, map[string]any) {
		req, err := http.NewRequest(http.MethodGet, gateway.URL+"/orders/42", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var body map[string]any
		if resp.StatusCode == http.StatusOK {
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
		}
		return resp.StatusCode, body
	}

	for range 2 {
		status, body := call(alice)
		require.Equal(t, http.StatusOK, status)
		assert.Equal(t, "alice", body["sub"])
		assert.Equal(t, "inventory", body["audience"])
	}
	assert.Equal(t, 1, as.ExchangesFor("alice"), "the second call is served from the cache")
	assert.EqualValues(t, 2, e.requests.Load(), "every request is introspected")
	got := inventory.Received()
	require.Len(t, got, 2)
	assert.True(t, got[0].Authorized)
	assert.NotEqual(t, alice, got[0].Token, "the downstream gets an exchanged token, not the caller's")

	status, _ := call(as.UserToken("mallory", "web"))
	assert.Equal(t, http.StatusUnauthorized, status, "a token the endpoint does not know")
	assert.Equal(t, 0, as.ExchangesFor("mallory"))
	assert.Len(t, inventory.Received(), 2)
}
