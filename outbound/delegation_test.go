package outbound_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/outbound"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// TestDelegationChain: service A calls B for a user, B calls C. A exchanges
// the user's token with its own token as actor for audience B; B, behind
// the middleware, exchanges what it received with its own token as actor
// for audience C. C sees the user as sub and B, then A, as actors. Several
// users call at once.
func TestDelegationChain(t *testing.T) {
	a := testutil.NewAuthority(t, testutil.Options{})
	a.AddClient(testutil.Client{ID: "A", Secret: "secret-of-A", ExchangeAudiences: []string{"B"}})
	a.AddClient(testutil.Client{ID: "B", Secret: "secret-of-B", ExchangeAudiences: []string{"C"}})
	c := testutil.NewResourceServer(t, a, "C")

	// Service B: the middleware, then a handler calling C through B's transport.
	clientB := newClient(t, a, "B", "secret-of-B")
	trB := newTransport(t, outbound.Options{
		Exchanger: newExchanger(t, clientB),
		Routes: []outbound.Route{{URL: c.URL, Mode: outbound.ModeExchange, Target: exchange.Target{
			Audiences: []string{"C"},
			Actor:     authority.NewCachedSource(clientB, authority.ClientCredentialsRequest{}, authority.CachedSourceOptions{}),
		}}},
	})
	httpB := &http.Client{Transport: trB}
	b := httptest.NewServer(middleware.Bearer(middleware.Options{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, c.URL+r.URL.Path, nil)
		if err != nil {
			t.Errorf("B: %v", err)
			return
		}
		resp, err := httpB.Do(req)
		if err != nil {
			outbound.ErrorHandler(nil)(w, req, err)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	})))
	t.Cleanup(b.Close)

	// Service A.
	clientA := newClient(t, a, "A", "secret-of-A")
	trA := newTransport(t, outbound.Options{
		Exchanger: newExchanger(t, clientA),
		Routes: []outbound.Route{{URL: b.URL, Mode: outbound.ModeExchange, Target: exchange.Target{
			Audiences: []string{"B"},
			Actor:     authority.NewCachedSource(clientA, authority.ClientCredentialsRequest{}, authority.CachedSourceOptions{}),
		}}},
	})

	users := []string{"alice", "bob", "carol"}
	var wg sync.WaitGroup
	for _, user := range users {
		tok := a.UserToken(user, "web", "A")
		for i := range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := get(t, trA, tok, fmt.Sprintf("%s/%s/%d", b.URL, user, i))
				if !assert.NoError(t, err) {
					return
				}
				body, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				assert.Equal(t, http.StatusOK, resp.StatusCode, string(body))
			}()
		}
	}
	wg.Wait()

	got := c.Received()
	require.Len(t, got, len(users)*10)
	for _, r := range got {
		assert.True(t, r.Authorized, r.Err)
		user, _, _ := strings.Cut(strings.TrimPrefix(r.Path, "/"), "/")
		assert.Equal(t, user, r.Subject, "C sees the user who made the call")
		assert.Equal(t, []string{"B", "A"}, r.Act)
		assert.Equal(t, []string{"C"}, r.Audience)
		assert.Equal(t, "B", r.ClientID)
	}
	for _, user := range users {
		assert.Equal(t, 2, a.ExchangesFor(user), "one exchange per hop per user")
	}
}
