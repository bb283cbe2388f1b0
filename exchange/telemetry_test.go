package exchange_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/internal/oteltest"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// Names and attributes the tests read, as the package documents them.
const (
	spanExchange = "tokenexchange.exchange"
	spanWait     = "tokenexchange.exchange.wait"

	mLookups    = "tokenexchange.exchange.cache.lookups"
	mDuration   = "tokenexchange.exchange.duration"
	mRefreshes  = "tokenexchange.exchange.refreshes"
	mRejections = "tokenexchange.exchange.rejections"
	mCanceled   = "tokenexchange.exchange.waits.canceled"
	mInFlight   = "tokenexchange.exchange.in_flight"
	mCacheErrs  = "tokenexchange.exchange.cache.errors"
	mEntries    = "tokenexchange.exchange.cache.entries"

	aLookup    attribute.Key = "tokenexchange.lookup"
	aOutcome   attribute.Key = "tokenexchange.outcome"
	aOAuthErr  attribute.Key = "tokenexchange.oauth.error"
	aRefresh   attribute.Key = "tokenexchange.refresh"
	aTarget    attribute.Key = "tokenexchange.target"
	aReason    attribute.Key = "tokenexchange.reason"
	aCoalesced attribute.Key = "tokenexchange.exchange.coalesced"
)

// holdingTransport holds every request to the authority until the test
// releases it, and tells the test the span context each carried.
type holdingTransport struct {
	base    http.RoundTripper
	arrived chan trace.SpanContext
	release chan struct{}
}

func (h *holdingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	h.arrived <- trace.SpanContextFromContext(r.Context())
	select {
	case <-h.release:
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
	return h.base.RoundTrip(r)
}

// spanEvents is a span processor that tells the test of every span
// started and ended, by name.
type spanEvents struct {
	started, ended chan string
}

func (s *spanEvents) OnStart(_ context.Context, sp sdktrace.ReadWriteSpan) { s.started <- sp.Name() }
func (s *spanEvents) OnEnd(sp sdktrace.ReadOnlySpan)                       { s.ended <- sp.Name() }
func (s *spanEvents) Shutdown(context.Context) error                       { return nil }
func (s *spanEvents) ForceFlush(context.Context) error                     { return nil }

// await reads ch until n values equal to name have come, failing after 10s.
func await(tb testing.TB, ch <-chan string, name string, n int) {
	tb.Helper()
	timeout := time.After(10 * time.Second)
	for n > 0 {
		select {
		case got := <-ch:
			if got == name {
				n--
			}
		case <-timeout:
			tb.Fatalf("timed out waiting for %d more %q spans", n, name)
		}
	}
}

// drain empties ch.
func drain(ch <-chan string) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

// telEnv is an env whose Exchanger reports to an SDK meter and tracer
// provider and a log buffer, and whose requests to the authority the test
// lets through one by one.
type telEnv struct {
	*env
	m      *oteltest.Metrics
	tr     *oteltest.Traces
	events *spanEvents
	hold   *holdingTransport
	logs   *testutil.LogBuffer
	// tracer makes the spans of the callers.
	tracer trace.Tracer
}

func newTelEnv(t *testing.T, opts exchange.Options, aopts testutil.Options) *telEnv {
	te := &telEnv{
		m:      oteltest.NewMetrics(t),
		tr:     oteltest.NewTraces(t),
		events: &spanEvents{started: make(chan string, 1024), ended: make(chan string, 1024)},
		hold:   &holdingTransport{arrived: make(chan trace.SpanContext, 64), release: make(chan struct{})},
		logs:   &testutil.LogBuffer{},
	}
	te.tr.Provider.RegisterSpanProcessor(te.events)
	te.tracer = te.tr.Provider.Tracer("test")
	opts.MeterProvider = te.m.Provider
	opts.TracerProvider = te.tr.Provider
	opts.Logger = slog.New(slog.NewTextHandler(te.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	te.env = newEnv(t, opts, aopts, &http.Client{Transport: te.hold})
	te.hold.base = te.a.Client().Transport
	return te
}

// pass lets the next request through to the authority and returns the
// span context it carried.
func (te *telEnv) pass(tb testing.TB) trace.SpanContext {
	tb.Helper()
	select {
	case sc := <-te.hold.arrived:
		te.hold.release <- struct{}{}
		return sc
	case <-time.After(10 * time.Second):
		tb.Fatal("timed out waiting for a request to the authority")
		return trace.SpanContext{}
	}
}

type result struct {
	tok    *authority.Token
	err    error
	lookup exchange.Lookup
}

// call exchanges subject for p in the background, recording its lookup.
func call(x *exchange.Exchanger, ctx context.Context, subject string, p *exchange.Prepared) <-chan result {
	ch := make(chan result, 1)
	go func() {
		var rec exchange.LookupRecorder
		tok, err := x.ExchangePrepared(exchange.ContextWithLookupRecorder(ctx, &rec), authority.NewSubjectToken(subject), p)
		ch <- result{tok, err, rec.Last()}
	}()
	return ch
}

// herd sends n callers for subject, each in a span of its own, joined
// while the first one's exchange is held at the authority. It returns the
// callers' spans and results, and the span context the request carried.
func (te *telEnv) herd(t *testing.T, n int, subject string, p *exchange.Prepared) ([]trace.SpanContext, []result, trace.SpanContext) {
	t.Helper()
	drain(te.events.started)
	parents := make([]trace.SpanContext, n)
	chans := make([]<-chan result, n)
	start := func(i int) {
		ctx, span := te.tracer.Start(context.Background(), "caller")
		parents[i] = span.SpanContext()
		ch := call(te.x, ctx, subject, p)
		out := make(chan result, 1)
		go func() { r := <-ch; span.End(); out <- r }()
		chans[i] = out
	}
	start(0)
	held := <-te.hold.arrived // the first caller's flight is at the authority
	for i := 1; i < n; i++ {
		start(i)
	}
	// A caller's wait span starts once it has joined the flight, and is
	// linked to and from the flight's span just after: release the
	// authority only once every link is made, or the flight's span may
	// end before the last caller links it.
	await(t, te.events.started, spanWait, n)
	testutil.WaitFor(t, "the flight to link every waiting caller", func() bool { return te.x.FlightLinks() == n })
	te.hold.release <- struct{}{}
	results := make([]result, n)
	for i, ch := range chans {
		results[i] = <-ch
		require.NoError(t, results[i].err)
	}
	return parents, results, held
}

// TestTelemetryScript runs the scripted sequence (a miss, a hit, a
// coalesced herd, a refused subject, a failed then a successful refresh)
// and checks every metric, the lookups recorded, the refresh spans and
// logs, and that no token or subject appears in any of them.
func TestTelemetryScript(t *testing.T) {
	const herdSize = 8
	te := newTelEnv(t, refreshOpts, testutil.Options{TokenLifetime: 5 * time.Minute})
	p, err := exchange.Target{Name: "orders", Audiences: []string{"api-a"}}.Prepare()
	require.NoError(t, err)
	subs := []string{"sub-alice-5e2d71", "sub-bob-9a04c3", "sub-carol-1f88b6"}
	alice, bob, carol := te.subject(subs[0]), te.subject(subs[1]), te.subject(subs[2])
	secrets := append([]string{alice, bob, carol, clientSecret}, subs...)
	ctx := context.Background()

	// A miss, then a hit.
	ch := call(te.x, ctx, alice, p)
	te.pass(t)
	r := <-ch
	require.NoError(t, r.err)
	assert.Equal(t, exchange.LookupMiss, r.lookup)
	secrets = append(secrets, r.tok.AccessToken)
	r = <-call(te.x, ctx, alice, p)
	require.NoError(t, r.err)
	assert.Equal(t, exchange.LookupHit, r.lookup)

	// A herd: one exchange, herdSize-1 coalesced.
	_, results, _ := te.herd(t, herdSize, bob, p)
	lookups := map[exchange.Lookup]int{}
	for _, r := range results {
		lookups[r.lookup]++
	}
	assert.Equal(t, map[exchange.Lookup]int{exchange.LookupMiss: 1, exchange.LookupCoalesced: herdSize - 1}, lookups)
	secrets = append(secrets, results[0].tok.AccessToken)

	// A refused subject, then its negative hit.
	te.a.InjectFaults(1, testutil.Fault{Kind: testutil.FaultOAuthError, Status: 400, Body: "invalid_grant"})
	ch = call(te.x, ctx, carol, p)
	te.pass(t)
	r = <-ch
	require.True(t, authority.IsPermanent(r.err), "%v", r.err)
	assert.Equal(t, exchange.LookupMiss, r.lookup)
	r = <-call(te.x, ctx, carol, p)
	require.Error(t, r.err)
	assert.Equal(t, exchange.LookupNegativeHit, r.lookup)

	// A refresh that fails, then one that succeeds, each started by a hit
	// in a span of its own.
	refresh := func(fault bool) trace.SpanContext {
		t.Helper()
		if fault {
			te.a.InjectFaults(1, testutil.Fault{Kind: testutil.FaultStatus, Status: 503})
		}
		drain(te.events.ended)
		hctx, span := te.tracer.Start(ctx, "hit")
		r := <-call(te.x, hctx, alice, p)
		span.End()
		require.NoError(t, r.err)
		assert.Equal(t, exchange.LookupRefreshAhead, r.lookup)
		te.pass(t)
		await(t, te.events.ended, spanExchange, 1)
		return span.SpanContext()
	}
	te.clock.Advance(refreshDue)
	failedHit := refresh(true)
	assert.Contains(t, te.logs.String(), "level=WARN msg=\"exchange: background refresh failed\" target=orders outcome=error")
	te.clock.Advance(6 * time.Second) // past the retry interval
	okHit := refresh(false)
	assert.Contains(t, te.logs.String(), "level=INFO msg=\"exchange: background refreshes succeed again\" target=orders")
	r = <-call(te.x, ctx, alice, p)
	require.NoError(t, r.err)
	assert.Equal(t, exchange.LookupHit, r.lookup, "the refreshed entry is fresh")
	secrets = append(secrets, r.tok.AccessToken)

	t.Run("metrics", func(t *testing.T) {
		m := te.m
		for l, want := range map[string]int64{"hit": 2, "refresh_ahead": 2, "negative_hit": 1, "miss": 3, "coalesced": herdSize - 1} {
			assert.Equal(t, want, m.Int64(t, mLookups, aLookup.String(l)), "lookups %s", l)
		}
		orders := aTarget.String("orders")
		assert.Equal(t, uint64(5), m.HistogramCount(t, mDuration, orders))
		assert.Equal(t, uint64(3), m.HistogramCount(t, mDuration, orders, aOutcome.String("success")))
		assert.Equal(t, uint64(1), m.HistogramCount(t, mDuration, aOutcome.String("refused"), aOAuthErr.String("invalid_grant"), aRefresh.Bool(false)))
		assert.Equal(t, uint64(1), m.HistogramCount(t, mDuration, aOutcome.String("error"), aRefresh.Bool(true)))
		assert.Equal(t, uint64(2), m.HistogramCount(t, mDuration, aRefresh.Bool(true)))
		for o, want := range map[string]int64{"success": 1, "failure": 1, "skipped": 0} {
			assert.Equal(t, want, m.Int64(t, mRefreshes, aOutcome.String(o)), "refreshes %s", o)
		}
		assert.Equal(t, int64(0), m.Int64(t, mRejections))
		assert.Equal(t, int64(0), m.Int64(t, mCanceled))
		assert.Equal(t, int64(0), m.Int64(t, mInFlight))
		assert.Equal(t, int64(0), m.Int64(t, mCacheErrs))
		_, ok := m.Find(t, mEntries)
		assert.True(t, ok, "the MemoryCache tells its entries")

		st := te.x.Stats()
		assert.Equal(t, uint64(4), st.Hits)
		assert.Equal(t, uint64(2), st.RefreshAheadHits)
		assert.Equal(t, uint64(3+herdSize-1), st.Misses)
		assert.Equal(t, uint64(herdSize-1), st.Coalesced)
	})

	t.Run("refresh spans", func(t *testing.T) {
		var refreshes []sdktrace.ReadOnlySpan
		for _, s := range te.tr.Ended(spanExchange) {
			if v, _ := oteltest.Attr(s, aRefresh); v == "true" {
				refreshes = append(refreshes, s)
			}
		}
		require.Len(t, refreshes, 2)
		for i, hit := range []trace.SpanContext{failedHit, okHit} {
			s := refreshes[i]
			assert.False(t, s.Parent().IsValid(), "a refresh is a root span")
			require.Len(t, s.Links(), 1)
			assert.Equal(t, hit.SpanID(), s.Links()[0].SpanContext.SpanID(), "linked to the hit that started it")
		}
		out, _ := oteltest.Attr(refreshes[0], aOutcome)
		assert.Equal(t, "error", out)
		assert.Equal(t, "Error", refreshes[0].Status().Code.String())
		out, _ = oteltest.Attr(refreshes[1], aOutcome)
		assert.Equal(t, "success", out)
		assert.Empty(t, te.tr.Ended("hit")[0].Links())
	})

	t.Run("no secret leaks", func(t *testing.T) {
		logs := te.logs.String()
		for _, secret := range secrets {
			for _, s := range append(te.m.Strings(t), te.tr.Strings()...) {
				assert.NotContains(t, s, secret)
			}
			assert.NotContains(t, logs, secret)
		}
	})
}

// TestTraceHerd: N callers, each in a span of its own, share one exchange:
// one root span linked to each caller's wait span, each wait span a child
// of its caller's span linked back to the exchange, and the request to the
// authority made in the exchange's span context.
func TestTraceHerd(t *testing.T) {
	const n = 6
	te := newTelEnv(t, exchange.Options{}, testutil.Options{})
	p, err := exchange.Target{Name: "orders", Audiences: []string{"api-a"}}.Prepare()
	require.NoError(t, err)
	parents, _, held := te.herd(t, n, te.subject("sub-dave-77c0e1"), p)

	await(t, te.events.ended, spanWait, n)
	flights := te.tr.Ended(spanExchange)
	require.Len(t, flights, 1, "one exchange span")
	flight := flights[0]
	assert.False(t, flight.Parent().IsValid(), "the exchange is a root span")
	for k, want := range map[attribute.Key]string{aOutcome: "success", aTarget: "orders", aRefresh: "false"} {
		got, _ := oteltest.Attr(flight, k)
		assert.Equal(t, want, got, "%s", k)
	}

	waits := te.tr.Ended(spanWait)
	require.Len(t, waits, n)
	waitIDs, linkIDs, parentIDs, waitParents := map[trace.SpanID]bool{}, map[trace.SpanID]bool{}, map[trace.SpanID]bool{}, map[trace.SpanID]bool{}
	coalesced := 0
	for _, w := range waits {
		waitIDs[w.SpanContext().SpanID()] = true
		waitParents[w.Parent().SpanID()] = true
		if v, _ := oteltest.Attr(w, aCoalesced); v == "true" {
			coalesced++
		}
		require.Len(t, w.Links(), 1, "a wait span links to the exchange")
		assert.Equal(t, flight.SpanContext().SpanID(), w.Links()[0].SpanContext.SpanID())
	}
	for _, l := range flight.Links() {
		linkIDs[l.SpanContext.SpanID()] = true
	}
	for _, sc := range parents {
		parentIDs[sc.SpanID()] = true
	}
	assert.Equal(t, waitIDs, linkIDs, "the exchange links to each caller's wait span")
	assert.Equal(t, parentIDs, waitParents, "each wait span is a child of its caller's span")
	assert.Equal(t, n-1, coalesced)

	// The request ran in the exchange's trace: in its span, or in a span
	// of the authority's that is its child.
	require.True(t, held.IsValid())
	assert.Equal(t, flight.SpanContext().TraceID(), held.TraceID())
	if held.SpanID() != flight.SpanContext().SpanID() {
		var found bool
		for _, s := range te.tr.Ended("") {
			if s.SpanContext().SpanID() == held.SpanID() {
				found = s.Parent().SpanID() == flight.SpanContext().SpanID()
			}
		}
		assert.True(t, found, "the request's span is the exchange's or its child")
	}
}

// TestBusyTelemetry: a rejection with ErrBusy is counted by reason and
// logged at Warn, once per minute.
func TestBusyTelemetry(t *testing.T) {
	te := newTelEnv(t, exchange.Options{MaxInFlight: 1, FlightTimeout: time.Hour}, testutil.Options{})
	p, err := exchange.Target{Audiences: []string{"api-a"}}.Prepare()
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// One flight holds the slot; four wait for it (4*MaxInFlight).
	var chans []<-chan result
	chans = append(chans, call(te.x, ctx, te.subject("holder"), p))
	<-te.hold.arrived
	drain(te.events.started)
	for i := range 4 {
		chans = append(chans, call(te.x, ctx, te.subject(strings.Repeat("w", i+1)), p))
	}
	await(t, te.events.started, spanExchange, 4)
	testutil.WaitFor(t, "the flights to wait for the slot", func() bool { return te.x.WaitingForSlot() == 4 })
	for range 2 {
		r := <-call(te.x, ctx, te.subject("rejected"), p)
		require.ErrorIs(t, r.err, exchange.ErrBusy)
	}
	assert.Equal(t, int64(2), te.m.Int64(t, mRejections, aReason.String("busy")))
	assert.Equal(t, int64(1), te.m.Int64(t, mInFlight))
	assert.Equal(t, 1, strings.Count(te.logs.String(), "exchange: rejecting exchanges"), te.logs.String())
	cancel()
	for _, ch := range chans {
		<-ch
	}
}

// TestMissJoinsRefresh: a miss that finds a background refresh in flight
// for its key waits for it, counted as coalesced, and its wait span and
// the refresh's span are linked both ways.
func TestMissJoinsRefresh(t *testing.T) {
	te := newTelEnv(t, refreshOpts, testutil.Options{TokenLifetime: 5 * time.Minute})
	p, err := exchange.Target{Audiences: []string{"api-a"}}.Prepare()
	require.NoError(t, err)
	subject := te.subject("sub-erin-0c9d2a")
	ch := call(te.x, context.Background(), subject, p)
	te.pass(t)
	first := <-ch
	require.NoError(t, first.err)

	te.clock.Advance(refreshDue)
	drain(te.events.started)
	r := <-call(te.x, context.Background(), subject, p)
	require.NoError(t, r.err)
	require.Equal(t, exchange.LookupRefreshAhead, r.lookup)
	await(t, te.events.started, spanExchange, 1) // the refresh holds its slot
	held := <-te.hold.arrived

	// The entry goes; the next request misses and joins the refresh.
	require.True(t, te.x.Invalidate(context.Background(), authority.NewSubjectToken(subject), exchange.Target{Audiences: []string{"api-a"}}, nil))
	ctx, parent := te.tracer.Start(context.Background(), "caller")
	ch = call(te.x, ctx, subject, p)
	await(t, te.events.started, spanWait, 1)
	te.hold.release <- struct{}{}
	r = <-ch
	parent.End()
	require.NoError(t, r.err)
	assert.Equal(t, exchange.LookupCoalesced, r.lookup)
	assert.NotEqual(t, first.tok.AccessToken, r.tok.AccessToken, "the refreshed token")
	assert.Equal(t, 2, te.exchanges())

	await(t, te.events.ended, spanWait, 1)
	waits := te.tr.Ended(spanWait)
	require.Len(t, waits, 2) // the first miss's, and this one's
	w := waits[1]
	coalesced, _ := oteltest.Attr(w, aCoalesced)
	assert.Equal(t, "true", coalesced)
	var refresh sdktrace.ReadOnlySpan
	for _, s := range te.tr.Ended(spanExchange) {
		if v, _ := oteltest.Attr(s, aRefresh); v == "true" {
			refresh = s
		}
	}
	require.NotNil(t, refresh)
	assert.Equal(t, held.TraceID(), refresh.SpanContext().TraceID())
	require.Len(t, w.Links(), 1)
	assert.Equal(t, refresh.SpanContext().SpanID(), w.Links()[0].SpanContext.SpanID())
	var linked bool
	for _, l := range refresh.Links() {
		linked = linked || l.SpanContext.SpanID() == w.SpanContext().SpanID()
	}
	assert.True(t, linked, "the refresh links to the wait span")
	assert.Equal(t, int64(1), te.m.Int64(t, mLookups, aLookup.String("coalesced")))
}
