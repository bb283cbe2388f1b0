package outbound_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/outbound"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// refusalEnv is an exchange route to a downstream that refuses every token
// the route gets (the route asks for audience "billing", the downstream is
// "orders": a misconfigured audience), and one to "billing" that accepts
// them, with a settable clock for the refusal window and a log.
type refusalEnv struct {
	*env
	clock *testutil.Clock
	log   *testutil.LogBuffer
	tr    *outbound.Transport
	wrong string // URL of the misconfigured route's downstream
}

func newRefusalEnv(t *testing.T, window time.Duration) *refusalEnv {
	t.Helper()
	e := &refusalEnv{env: newEnv(t), clock: testutil.NewClock(time.Now()), log: &testutil.LogBuffer{}}
	e.wrong = e.orders.URL
	e.tr = newTransport(t, outbound.Options{
		Exchanger:     e.x,
		RefusalWindow: window,
		Now:           e.clock.Now,
		Logger:        slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Routes: []outbound.Route{
			{URL: e.orders.URL, Mode: outbound.ModeExchange, Target: exchange.Target{Audiences: []string{"billing"}}},
			{URL: e.billing.URL, Mode: outbound.ModeExchange, Target: exchange.Target{Audiences: []string{"billing"}}},
		},
	})
	return e
}

// warnings returns the Warn lines logged about refused fresh tokens.
func (e *refusalEnv) warnings() int {
	return strings.Count(e.log.String(), "refused a fresh token")
}

// TestRefusalWindow: a downstream that refuses every token costs one
// exchange and one re-exchange per subject and refusal window, not one
// exchange per request; its 401s reach the caller unchanged.
func TestRefusalWindow(t *testing.T) {
	e := newRefusalEnv(t, 0) // the default, 30 s
	alice := e.a.UserToken("alice", "web")
	for i := range 50 {
		resp, err := get(t, e.tr, alice, e.wrong+"/x")
		require.NoError(t, err, i)
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, i)
		assert.Equal(t, `Bearer error="invalid_token"`, resp.Header.Get("WWW-Authenticate"))
		_ = resp.Body.Close()
	}
	assert.Equal(t, 2, e.a.ExchangesFor("alice"), "the first exchange and one re-exchange")
	assert.Equal(t, 51, len(e.orders.Received()), "the first request resent once, the others sent once")
	assert.Equal(t, outbound.Stats{Retries: 1, FreshRefused: 1, PassedOn: 49, RefusalEntries: 1}, e.tr.Stats())
	assert.Equal(t, 1, e.warnings(), "one Warn line per window: %s", e.log.String())
	assert.NotContains(t, e.log.String(), alice)
	for _, r := range e.orders.Received() {
		assert.NotContains(t, e.log.String(), r.Token)
	}

	// Another subject on the same route gets its own retry; the route's
	// other subjects are not blamed for alice's.
	bob := e.a.UserToken("bob", "web")
	assert.Equal(t, http.StatusUnauthorized, mustGet(t, e.tr, bob, e.wrong+"/x"))
	assert.Equal(t, 2, e.a.ExchangesFor("bob"))

	// A route whose downstream accepts the same token is not affected.
	assert.Equal(t, http.StatusOK, mustGet(t, e.tr, alice, e.billing.URL+"/x"))

	// Within the window, nothing changes; after it, a 401 is retried again.
	e.clock.Advance(29 * time.Second)
	assert.Equal(t, http.StatusUnauthorized, mustGet(t, e.tr, alice, e.wrong+"/x"))
	assert.Equal(t, 2, e.a.ExchangesFor("alice"))
	e.clock.Advance(2 * time.Second)
	received := len(e.orders.Received())
	assert.Equal(t, http.StatusUnauthorized, mustGet(t, e.tr, alice, e.wrong+"/x"))
	assert.Equal(t, 3, e.a.ExchangesFor("alice"), "one re-exchange after the window")
	assert.Equal(t, received+2, len(e.orders.Received()), "and one resend")
	assert.Equal(t, 3, e.warnings(), "alice twice, bob once")
}

// TestRefusalWindowConcurrent: 50 concurrent callers of one subject to a
// downstream that refuses every token: at most two exchanges, and each
// caller gets the 401.
func TestRefusalWindowConcurrent(t *testing.T) {
	e := newRefusalEnv(t, 0)
	alice := e.a.UserToken("alice", "web")
	var wg sync.WaitGroup
	statuses := make([]int, 50)
	errs := make([]error, 50)
	start := make(chan struct{})
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resp, err := get(t, e.tr, alice, e.wrong+"/x")
			if errs[i] = err; err == nil {
				statuses[i] = resp.StatusCode
				_ = resp.Body.Close()
			}
		}()
	}
	close(start)
	wg.Wait()
	for i := range statuses {
		require.NoError(t, errs[i], i)
		assert.Equal(t, http.StatusUnauthorized, statuses[i], i)
	}
	assert.LessOrEqual(t, e.a.ExchangesFor("alice"), 2)
	assert.LessOrEqual(t, len(e.orders.Received()), 100)
	st := e.tr.Stats()
	assert.EqualValues(t, 1, st.FreshRefused, "one window")
	assert.Equal(t, 1, e.warnings())
	assert.EqualValues(t, 50, st.Retries+st.PassedOn, "every 401 was resent or passed on: %+v", st)
}

// TestRefusalWindowRecovers: a downstream that refuses a token once (it
// was revoked, or the downstream's keys rotated) still gets the resend with
// a fresh token and the caller its 200, every time, inside a window too.
func TestRefusalWindowRecovers(t *testing.T) {
	e := newRefusalEnv(t, 0)
	alice := e.a.UserToken("alice", "web")
	for i := range 3 {
		e.billing.FailNext(1, http.StatusUnauthorized)
		assert.Equal(t, http.StatusOK, mustGet(t, e.tr, alice, e.billing.URL+"/x"), i)
		assert.Equal(t, i+2, e.a.ExchangesFor("alice"), "one re-exchange per refusal")
	}
	assert.Equal(t, 6, len(e.billing.Received()))
	assert.Equal(t, outbound.Stats{Retries: 3}, e.tr.Stats())
	assert.Zero(t, e.warnings())
}

// TestRefusalWindowOff: a negative window keeps the old behaviour, one
// re-exchange and resend per 401.
func TestRefusalWindowOff(t *testing.T) {
	e := newRefusalEnv(t, -1)
	alice := e.a.UserToken("alice", "web")
	for range 5 {
		assert.Equal(t, http.StatusUnauthorized, mustGet(t, e.tr, alice, e.wrong+"/x"))
	}
	assert.Equal(t, 6, e.a.ExchangesFor("alice"))
	assert.Equal(t, 10, len(e.orders.Received()))
	assert.Equal(t, outbound.Stats{Retries: 5}, e.tr.Stats())
}

// TestRefusalWindowOwnToken: the same for a TokenSource whose fresh token
// the downstream refuses too, and for one that has no other token.
func TestRefusalWindowOwnToken(t *testing.T) {
	t.Run("fresh token refused", func(t *testing.T) {
		base := &fakeBase{statuses: repeat(http.StatusUnauthorized, 100)}
		src := &staticTokens{name: "own"}
		tr := newTransport(t, outbound.Options{Base: base, Routes: []outbound.Route{
			{URL: "https://orders.internal", Mode: outbound.ModeOwnToken, Tokens: src},
		}})
		for range 50 {
			assert.Equal(t, http.StatusUnauthorized, mustGet(t, tr, "", "https://orders.internal/x"))
		}
		assert.EqualValues(t, 1, src.invalidated.Load(), "one renewal")
		assert.Equal(t, 51, base.count())
		assert.Equal(t, outbound.Stats{Retries: 1, FreshRefused: 1, PassedOn: 49, RefusalEntries: 1}, tr.Stats())
	})
	t.Run("no other token", func(t *testing.T) {
		base := &fakeBase{statuses: repeat(http.StatusUnauthorized, 100)}
		src := &countingStuckTokens{}
		tr := newTransport(t, outbound.Options{Base: base, Routes: []outbound.Route{
			{URL: "https://orders.internal", Mode: outbound.ModeOwnToken, Tokens: src},
		}})
		for range 50 {
			assert.Equal(t, http.StatusUnauthorized, mustGet(t, tr, "", "https://orders.internal/x"))
		}
		assert.EqualValues(t, 1, src.invalidated, "one renewal asked for")
		assert.Equal(t, 50, base.count())
		assert.Equal(t, outbound.Stats{FreshRefused: 1, PassedOn: 50, RefusalEntries: 1}, tr.Stats())
	})
}

func repeat(status, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = status
	}
	return out
}

// countingStuckTokens always returns the same token and counts the
// invalidations.
type countingStuckTokens struct {
	mu          sync.Mutex // guards invalidated
	invalidated int
}

func (s *countingStuckTokens) Token(ctx context.Context) (*authority.Token, error) {
	return stuckTokens{}.Token(ctx)
}

func (s *countingStuckTokens) Invalidate(*authority.Token) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.invalidated++
}
