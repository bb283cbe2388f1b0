package outbound_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"

	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/internal/oteltest"
	"github.com/go-tokenexchange/tokenexchange/outbound"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

const metricMemory = "tokenexchange.outbound.refusal_memory.calls"

var keyOperation = attribute.Key("tokenexchange.operation")

// memoryRefusals is an in-process RefusalMemory on a clock, as Redis
// would be for the replicas of a gateway. It can be made to fail, and it
// counts the calls.
type memoryRefusals struct {
	now func() time.Time

	mu       sync.Mutex // guards the fields below
	until    map[[32]byte]time.Time
	fail     bool
	recalls  int
	remember int
}

func newMemoryRefusals(now func() time.Time) *memoryRefusals {
	return &memoryRefusals{now: now, until: map[[32]byte]time.Time{}}
}

var errMemoryDown = errors.New("memory down")

func (m *memoryRefusals) Remember(_ context.Context, key [32]byte, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.remember++
	if m.fail {
		return errMemoryDown
	}
	m.until[key] = m.now().Add(ttl)
	return nil
}

func (m *memoryRefusals) Recall(_ context.Context, key [32]byte) (time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.recalls++
	if m.fail {
		return 0, errMemoryDown
	}
	return max(m.until[key].Sub(m.now()), 0), nil
}

func (m *memoryRefusals) setFail(fail bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fail = fail
}

// calls returns the numbers of Recall and Remember calls.
func (m *memoryRefusals) calls() (recalls, remembers int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.recalls, m.remember
}

// fleetEnv is two replicas of a gateway, A and B, each with its own
// exchanger and transport, in front of one authority and one
// misconfigured downstream ("orders", whose route asks for audience
// "billing"), sharing one refusal memory and one clock. B lists its
// routes in the other order: the windows are shared by destination.
type fleetEnv struct {
	*env
	clock  *testutil.Clock
	mem    *memoryRefusals
	a, b   *outbound.Transport
	logB   *testutil.LogBuffer
	wrong  string
	metric *oteltest.Metrics // B's
}

func newFleetEnv(t *testing.T, mem func(*testutil.Clock) outbound.RefusalMemory) *fleetEnv {
	t.Helper()
	e := &fleetEnv{env: newEnv(t), clock: testutil.NewClock(time.Now()), logB: &testutil.LogBuffer{}, metric: oteltest.NewMetrics(t)}
	e.wrong = e.orders.URL
	var shared outbound.RefusalMemory
	if mem == nil {
		e.mem = newMemoryRefusals(e.clock.Now)
		shared = e.mem
	} else {
		shared = mem(e.clock)
	}
	routes := []outbound.Route{
		{URL: e.orders.URL, Mode: outbound.ModeExchange, Target: exchange.Target{Audiences: []string{"billing"}}},
		{URL: e.billing.URL, Mode: outbound.ModeExchange, Target: exchange.Target{Audiences: []string{"billing"}}},
	}
	e.a = newTransport(t, outbound.Options{Exchanger: e.x, Routes: routes, Now: e.clock.Now, RefusalMemory: shared})
	e.b = newTransport(t, outbound.Options{
		Exchanger:     newExchanger(t, e.client), // replica B's own cache
		Routes:        []outbound.Route{routes[1], routes[0]},
		Now:           e.clock.Now,
		RefusalMemory: shared,
		Logger:        slog.New(slog.NewTextHandler(e.logB, &slog.HandlerOptions{Level: slog.LevelInfo})),
		MeterProvider: e.metric.Provider,
	})
	return e
}

// storm sends n requests of subject through tr to the misconfigured
// downstream; each must come back as the downstream's 401.
func (e *fleetEnv) storm(t *testing.T, tr *outbound.Transport, subject string, n int) {
	t.Helper()
	for i := range n {
		require.Equal(t, http.StatusUnauthorized, mustGet(t, tr, subject, e.wrong+"/x"), i)
	}
}

// TestRefusalMemoryShared: the storm on replica A opens the window (two
// exchanges, as for one transport); replica B, which has its own token
// from its own exchange, passes its 401s on without a re-exchange, until
// the window A opened ends.
func TestRefusalMemoryShared(t *testing.T) {
	e := newFleetEnv(t, nil)
	alice := e.a0().UserToken("alice", "web")
	e.storm(t, e.a, alice, 20)
	require.Equal(t, 2, e.env.a.ExchangesFor("alice"), "A: the first exchange and one re-exchange")
	assert.Equal(t, outbound.Stats{Retries: 1, FreshRefused: 1, PassedOn: 19, RefusalEntries: 1}, e.a.Stats())
	recalls, remembers := e.mem.calls()
	assert.Equal(t, 1, recalls, "A asked once, at its first 401")
	assert.Equal(t, 1, remembers, "A told the fleet once")

	e.clock.Advance(20 * time.Second)
	received := len(e.orders.Received())
	e.storm(t, e.b, alice, 20)
	assert.Equal(t, 3, e.env.a.ExchangesFor("alice"), "B: its own first exchange, no re-exchange")
	assert.Equal(t, received+20, len(e.orders.Received()), "B resent nothing")
	assert.Equal(t, outbound.Stats{PassedOn: 20, SharedWindows: 1, RefusalEntries: 1}, e.b.Stats())
	recalls, _ = e.mem.calls()
	assert.Equal(t, 2, recalls, "B asked once, then kept the window")
	assert.Equal(t, int64(1), e.metric.Int64(t, metricMemory, keyOperation.String("recall"), keyOutcome.String("hit")))
	assert.Equal(t, int64(20), e.metric.Int64(t, metricRetries, keyOutcome.String("passed_on")))
	assert.Zero(t, e.metric.Int64(t, metricWindows), "B opened no window of its own")

	// B keeps the window for what remains of A's (10s), not a whole one.
	e.clock.Advance(10 * time.Second)
	e.storm(t, e.b, alice, 3)
	assert.Equal(t, 4, e.env.a.ExchangesFor("alice"), "B: one re-exchange once the window ended")
	st := e.b.Stats()
	assert.Equal(t, uint64(1), st.Retries)
	assert.Equal(t, uint64(1), st.FreshRefused, "B opened the next window")
	_, remembers = e.mem.calls()
	assert.Equal(t, 2, remembers, "and told the fleet")

	// Another subject on the same route is not blamed for alice's.
	bob := e.a0().UserToken("bob", "web")
	e.storm(t, e.a, bob, 1)
	assert.Equal(t, 2, e.env.a.ExchangesFor("bob"))
	assert.NotContains(t, e.logB.String(), alice)
}

// a0 returns the authority (the env's field a is shadowed by replica A).
func (e *fleetEnv) a0() *testutil.Authority { return e.env.a }

// TestRefusalMemorySuccessPathUntouched: requests that get no 401, and
// 401s within a window known here, never call the memory.
func TestRefusalMemorySuccessPathUntouched(t *testing.T) {
	e := newFleetEnv(t, nil)
	alice := e.a0().UserToken("alice", "web")
	for range 20 {
		require.Equal(t, http.StatusOK, mustGet(t, e.a, alice, e.billing.URL+"/x"))
		require.Equal(t, http.StatusOK, mustGet(t, e.b, alice, e.billing.URL+"/x"))
	}
	recalls, remembers := e.mem.calls()
	assert.Zero(t, recalls+remembers)

	// A downstream that refuses a token once recovers as before: one
	// question to the memory, a resend, and no window remembered.
	e.billing.FailNext(1, http.StatusUnauthorized)
	require.Equal(t, http.StatusOK, mustGet(t, e.a, alice, e.billing.URL+"/x"))
	recalls, remembers = e.mem.calls()
	assert.Equal(t, 1, recalls)
	assert.Zero(t, remembers)
}

// TestRefusalMemoryFailing: a memory that fails changes nothing but the
// counts: each transport goes by its own windows, one Warn a minute, and
// an Info once it answers again.
func TestRefusalMemoryFailing(t *testing.T) {
	e := newFleetEnv(t, nil)
	e.mem.setFail(true)
	alice := e.a0().UserToken("alice", "web")
	e.storm(t, e.b, alice, 10)
	assert.Equal(t, 2, e.env.a.ExchangesFor("alice"), "as a transport alone")
	st := e.b.Stats()
	assert.Equal(t, outbound.Stats{Retries: 1, FreshRefused: 1, PassedOn: 9, RefusalEntries: 1, RefusalMemoryErrors: 2}, st)
	assert.Equal(t, int64(1), e.metric.Int64(t, metricMemory, keyOperation.String("recall"), keyOutcome.String("error")))
	assert.Equal(t, int64(1), e.metric.Int64(t, metricMemory, keyOperation.String("remember"), keyOutcome.String("error")))
	assert.Equal(t, 1, strings.Count(e.logB.String(), "shared refusal memory failed"), e.logB.String())

	e.mem.setFail(false)
	e.clock.Advance(31 * time.Second)
	e.storm(t, e.b, alice, 1)
	assert.Contains(t, e.logB.String(), "shared refusal memory answers again")
	assert.Equal(t, int64(1), e.metric.Int64(t, metricMemory, keyOperation.String("remember"), keyOutcome.String("ok")))
}

// TestRefusalMemoryIgnored: a nil pointer counts as no memory, and a
// negative window turns the memory off with the windows.
func TestRefusalMemoryIgnored(t *testing.T) {
	for _, tc := range []struct {
		name   string
		window time.Duration
		mem    func(*memoryRefusals) outbound.RefusalMemory
	}{
		{"nil pointer", 0, func(*memoryRefusals) outbound.RefusalMemory { return (*memoryRefusals)(nil) }},
		{"windows off", -1, func(m *memoryRefusals) outbound.RefusalMemory { return m }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			mem := newMemoryRefusals(time.Now)
			tr := newTransport(t, outbound.Options{
				Exchanger: e.x, RefusalWindow: tc.window, RefusalMemory: tc.mem(mem),
				Routes: []outbound.Route{{URL: e.orders.URL, Mode: outbound.ModeExchange, Target: exchange.Target{Audiences: []string{"billing"}}}},
			})
			alice := e.a.UserToken("alice", "web")
			for range 3 {
				assert.Equal(t, http.StatusUnauthorized, mustGet(t, tr, alice, e.orders.URL+"/x"))
			}
			recalls, remembers := mem.calls()
			assert.Zero(t, recalls+remembers)
		})
	}
}

// slowMemory never answers before its context ends.
type slowMemory struct{}

func (slowMemory) Remember(ctx context.Context, _ [32]byte, _ time.Duration) error {
	<-ctx.Done()
	return ctx.Err()
}

func (slowMemory) Recall(ctx context.Context, _ [32]byte) (time.Duration, error) {
	<-ctx.Done()
	return 0, ctx.Err()
}

// TestRefusalMemorySlow: a memory that does not answer costs each call
// RefusalMemoryTimeout, no more, and counts as failed.
func TestRefusalMemorySlow(t *testing.T) {
	e := newFleetEnv(t, func(*testutil.Clock) outbound.RefusalMemory { return slowMemory{} })
	alice := e.a0().UserToken("alice", "web")
	start := time.Now()
	e.storm(t, e.b, alice, 1)
	elapsed := time.Since(start)
	assert.GreaterOrEqual(t, elapsed, 2*outbound.RefusalMemoryTimeout, "a recall and a remember")
	assert.Less(t, elapsed, 2*outbound.RefusalMemoryTimeout+2*time.Second)
	assert.Equal(t, uint64(2), e.b.Stats().RefusalMemoryErrors)
}
