package outbound_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/outbound"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// TestConcurrentCallers: many callers for several users at once, with
// downstream 401s thrown in, through one Transport. Every request reaches
// the downstream with a token for its own user, and each user's token is
// exchanged once, plus once per 401 it met at most.
func TestConcurrentCallers(t *testing.T) {
	e := newEnv(t)
	tr := newTransport(t, outbound.Options{Exchanger: e.x, Routes: []outbound.Route{
		{URL: e.orders.URL, Mode: outbound.ModeExchange, Target: exchange.Target{Audiences: []string{"orders"}}},
		{URL: e.billing.URL, Mode: outbound.ModeOwnToken, Tokens: e.ownTokens("billing")},
	}})
	const users, perUser = 8, 25
	tokens := make([]string, users)
	for i := range tokens {
		tokens[i] = e.a.UserToken(fmt.Sprintf("user%d", i), "web")
	}
	e.orders.FailNext(3, http.StatusUnauthorized)
	e.billing.FailNext(2, http.StatusUnauthorized)

	var (
		wg     sync.WaitGroup
		mu     sync.Mutex // guards failed
		failed = map[string]int{}
	)
	for u := range users {
		for i := range perUser {
			wg.Add(1)
			go func() {
				defer wg.Done()
				url := fmt.Sprintf("%s/user%d/%d", e.orders.URL, u, i)
				if i%5 == 0 {
					url = fmt.Sprintf("%s/user%d/%d", e.billing.URL, u, i)
				}
				if status := mustGet(t, tr, tokens[u], url); status != http.StatusOK {
					mu.Lock()
					failed[url] = status
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()

	// The injected 401s go to whichever requests come next, retries
	// included: a request fails only when both its send and its one retry
	// met one.
	injected := map[string]int{}
	for _, rs := range []*testutil.ResourceServer{e.orders, e.billing} {
		for _, r := range rs.Received() {
			if r.Err == "injected failure" {
				injected[rs.URL+r.Path]++
			}
		}
	}
	for url, status := range failed {
		assert.Equal(t, http.StatusUnauthorized, status, url)
		assert.Equal(t, 2, injected[url], "%s failed without meeting two injected 401s", url)
	}

	for _, r := range e.orders.Received() {
		if r.Err == "injected failure" {
			continue
		}
		user, _, _ := strings.Cut(strings.TrimPrefix(r.Path, "/"), "/")
		assert.True(t, r.Authorized, r.Err)
		assert.Equal(t, user, r.Subject, "never another user's token")
	}
	total := 0
	for u := range users {
		n := e.a.ExchangesFor(fmt.Sprintf("user%d", u))
		assert.GreaterOrEqual(t, n, 1)
		total += n
	}
	assert.LessOrEqual(t, total, users+3, "one exchange per user, plus at most one per 401")
	for _, r := range e.billing.Received() {
		if r.Err != "injected failure" {
			assert.Equal(t, "gateway", r.Subject)
		}
	}
}
