package jwt_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/go-tokenexchange/tokenexchange/internal/oteltest"
	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/middleware/jwt"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

const (
	fetchSpanName     = "tokenexchange.jwks.fetch"
	discoverySpanName = "tokenexchange.jwks.discovery"
	fetchesMetric     = "tokenexchange.jwks.fetches"
	keysMetric        = "tokenexchange.jwks.keys"
	outcomeKey        = attribute.Key("tokenexchange.outcome")
	triggerKey        = attribute.Key("tokenexchange.trigger")
)

// fetchEnds is a span processor that hands over every ended key set
// fetch span: the event a test waits for, since a fetch's log record and
// metric precede its span's end.
type fetchEnds chan sdktrace.ReadOnlySpan

func (c fetchEnds) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (c fetchEnds) OnEnd(s sdktrace.ReadOnlySpan) {
	if s.Name() == fetchSpanName {
		c <- s
	}
}
func (c fetchEnds) Shutdown(context.Context) error   { return nil }
func (c fetchEnds) ForceFlush(context.Context) error { return nil }

// next returns the next ended fetch span.
func (c fetchEnds) next(t *testing.T) sdktrace.ReadOnlySpan {
	t.Helper()
	select {
	case s := <-c:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no key set fetch ended")
		return nil
	}
}

// observed is a validator with its telemetry read by the test.
type observed struct {
	a       *testutil.Authority
	proxy   *gatedJWKS
	srv     *httptest.Server
	v       *jwt.Validator
	metrics *oteltest.Metrics
	traces  *oteltest.Traces
	ends    fetchEnds
	logs    *testutil.LogBuffer
	clock   *testutil.Clock // of the log limiter
}

// newObserved starts an authority, a JWKS proxy in front of it and a
// validator reading the keys through the proxy, with an SDK meter and
// tracer provider, a debug logger and a log clock of the test's.
func newObserved(t *testing.T, ctx context.Context, cfg jwt.Config) *observed {
	t.Helper()
	o := &observed{
		a:       testutil.NewAuthority(t, testutil.Options{}),
		metrics: oteltest.NewMetrics(t),
		traces:  oteltest.NewTraces(t),
		ends:    make(fetchEnds, 64),
		logs:    &testutil.LogBuffer{},
		clock:   testutil.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
	}
	o.proxy = &gatedJWKS{a: o.a, gate: make(chan struct{}), arrived: make(chan struct{}, 1)}
	o.srv = httptest.NewServer(o.proxy)
	t.Cleanup(o.srv.Close)
	o.traces.Provider.RegisterSpanProcessor(o.ends)
	cfg.Issuer, cfg.JWKSURL, cfg.Audience = o.a.Issuer(), o.srv.URL+"/keys?tenant=1", []string{"api"}
	cfg.MeterProvider, cfg.TracerProvider = o.metrics.Provider, o.traces.Provider
	cfg.Logger = slog.New(slog.NewJSONHandler(o.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	v, err := jwt.NewWithLogClock(ctx, cfg, o.clock.Now)
	require.NoError(t, err)
	t.Cleanup(v.Close)
	o.v = v
	return o
}

// records returns the log records written so far, decoded.
func (o *observed) records(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(o.logs.String()), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
		out = append(out, rec)
	}
	return out
}

func (o *observed) fetches(t *testing.T, trig, outcome string) int64 {
	t.Helper()
	return o.metrics.Int64(t, fetchesMetric, triggerKey.String(trig), outcomeKey.String(outcome))
}

func attr(t *testing.T, s sdktrace.ReadOnlySpan, key string) string {
	t.Helper()
	v, _ := oteltest.Attr(s, attribute.Key(key))
	return v
}

func TestFetchTelemetryStartup(t *testing.T) {
	tracer := oteltest.NewTraces(t) // the caller's own provider: only its span context matters
	ctx, parent := tracer.Provider.Tracer("test").Start(context.Background(), "startup")
	defer parent.End()
	o := newObserved(t, ctx, jwt.Config{Propagator: propagation.TraceContext{}})

	s := o.ends.next(t)
	assert.Equal(t, parent.SpanContext().SpanID(), s.Parent().SpanID(), "a child of New's context")
	assert.Equal(t, parent.SpanContext().TraceID(), s.SpanContext().TraceID())
	assert.Equal(t, trace.SpanKindClient, s.SpanKind())
	assert.Equal(t, "startup", attr(t, s, "tokenexchange.trigger"))
	assert.Equal(t, "success", attr(t, s, "tokenexchange.outcome"))
	assert.Equal(t, "200", attr(t, s, "http.response.status_code"))
	u, _ := url.Parse(o.srv.URL)
	assert.Equal(t, u.Hostname(), attr(t, s, "server.address"))
	assert.Equal(t, u.Port(), attr(t, s, "server.port"))
	assert.Equal(t, codes.Unset, s.Status().Code)
	assert.Equal(t, "github.com/go-tokenexchange/tokenexchange/middleware/jwt", s.InstrumentationScope().Name)

	// The request carried the fetch span's context.
	want := "00-" + s.SpanContext().TraceID().String() + "-" + s.SpanContext().SpanID().String() + "-01"
	assert.Equal(t, want, o.proxy.lastTraceparent())

	assert.EqualValues(t, 1, o.fetches(t, "startup", "success"))
	assert.EqualValues(t, 1, o.metrics.Int64(t, keysMetric))
	assert.Empty(t, o.records(t), "the startup fetch is not logged: New reports it")

	require.NoError(t, o.v.Ready())
	o.v.Close()
	assert.ErrorContains(t, o.v.Ready(), "closed")
	assert.Zero(t, o.metrics.Int64(t, keysMetric), "Close unregisters the gauge")
}

func TestFetchTelemetryDiscovery(t *testing.T) {
	a := testutil.NewAuthority(t, testutil.Options{})
	traces := oteltest.NewTraces(t)
	ctx, parent := traces.Provider.Tracer("test").Start(context.Background(), "startup")
	v, err := jwt.New(ctx, jwt.Config{Issuer: a.Issuer(), Audience: []string{"api"}, HTTPClient: a.Client(), TracerProvider: traces.Provider})
	require.NoError(t, err)
	t.Cleanup(v.Close)
	parent.End()
	spans := traces.Ended(discoverySpanName)
	require.Len(t, spans, 1)
	d := spans[0]
	assert.Equal(t, parent.SpanContext().SpanID(), d.Parent().SpanID())
	assert.Equal(t, trace.SpanKindClient, d.SpanKind())
	assert.Equal(t, "success", attr(t, d, "tokenexchange.outcome"))
	assert.Equal(t, "startup", attr(t, d, "tokenexchange.trigger"))
	assert.Equal(t, "127.0.0.1", attr(t, d, "server.address"))
	fetch := traces.Ended(fetchSpanName)
	require.Len(t, fetch, 1)
	assert.Equal(t, parent.SpanContext().SpanID(), fetch[0].Parent().SpanID())

	// A discovery that fails: span with an error status and a closed-set description.
	a.FailDiscovery(2, testutil.Fault{Status: http.StatusInternalServerError})
	_, err = jwt.New(ctx, jwt.Config{Issuer: a.Issuer(), Audience: []string{"api"}, HTTPClient: a.Client(), TracerProvider: traces.Provider})
	require.Error(t, err)
	spans = traces.Ended(discoverySpanName)
	require.Len(t, spans, 2)
	assert.Equal(t, "error", attr(t, spans[1], "tokenexchange.outcome"))
	assert.Equal(t, codes.Error, spans[1].Status().Code)
	assert.Equal(t, "discovery", spans[1].Status().Description)
}

// A failing background refresh: spans (roots), counters, a rate-limited
// Warn, and the Info once it recovers; then a refresh that Close cancels.
func TestFetchTelemetryBackgroundRefresh(t *testing.T) {
	o := newObserved(t, context.Background(), jwt.Config{RefreshInterval: time.Nanosecond, MinRefetchInterval: time.Nanosecond})
	o.ends.next(t) // startup
	tok := o.a.IssueToken(testutil.TokenClaims{Subject: "alice", Audience: []string{"api"}})
	refresh := func() sdktrace.ReadOnlySpan {
		t.Helper()
		_, err := o.v.Validate(context.Background(), sub(tok))
		require.NoError(t, err, "the keys held keep serving")
		return o.ends.next(t)
	}

	o.proxy.fail.Store(true)
	for i := range 3 {
		if i == 2 {
			o.clock.Advance(time.Minute) // the limiter lets the next Warn through
		}
		s := refresh()
		assert.False(t, s.Parent().IsValid(), "a background fetch is a root span")
		assert.Empty(t, s.Links())
		assert.Equal(t, "background", attr(t, s, "tokenexchange.trigger"))
		assert.Equal(t, "error", attr(t, s, "tokenexchange.outcome"))
		assert.Equal(t, "503", attr(t, s, "http.response.status_code"))
		assert.Equal(t, codes.Error, s.Status().Code)
		assert.Equal(t, "http_status", s.Status().Description)
	}
	assert.EqualValues(t, 3, o.fetches(t, "background", "error"))

	recs := o.records(t)
	require.Len(t, recs, 2, "the second Warn is held back")
	for _, rec := range recs {
		assert.Equal(t, "WARN", rec["level"])
		assert.Equal(t, "jwt: key set refresh failed; the keys held keep serving", rec["msg"])
		assert.Equal(t, "http_status", rec["failure"])
		assert.Contains(t, rec["error"], "HTTP 503")
		assert.NotContains(t, rec["error"], "tenant=1", "the URL's query is left out")
	}
	assert.Nil(t, recs[0]["suppressed"])
	assert.EqualValues(t, 1, recs[1]["suppressed"])

	o.proxy.fail.Store(false)
	o.a.RotateKey()
	s := refresh()
	assert.Equal(t, "success", attr(t, s, "tokenexchange.outcome"))
	assert.Equal(t, codes.Unset, s.Status().Code)
	assert.EqualValues(t, 1, o.fetches(t, "background", "success"))
	assert.EqualValues(t, 2, o.metrics.Int64(t, keysMetric), "the rotated key is loaded")
	recs = o.records(t)
	require.Len(t, recs, 3)
	assert.Equal(t, "INFO", recs[2]["level"])
	assert.Equal(t, "jwt: key set fetched again after failures", recs[2]["msg"])
	assert.EqualValues(t, 3, recs[2]["failures"])
	assert.Equal(t, "background", recs[2]["trigger"])

	// Routine: Debug.
	refresh()
	recs = o.records(t)
	require.Len(t, recs, 4)
	assert.Equal(t, "DEBUG", recs[3]["level"])

	// A refresh that Close ends: canceled, not logged.
	select {
	case <-o.proxy.arrived: // an earlier fetch's
	default:
	}
	o.proxy.hold.Store(true)
	_, err := o.v.Validate(context.Background(), sub(tok))
	require.NoError(t, err)
	<-o.proxy.arrived
	o.v.Close()
	s = o.ends.next(t)
	assert.Equal(t, "canceled", attr(t, s, "tokenexchange.outcome"))
	assert.EqualValues(t, 1, o.fetches(t, "background", "canceled"))
	assert.Len(t, o.records(t), 4)
}

// doneSignal is a context that reports the first call of Done: Validate
// calls it only once it waits for a key set fetch.
type doneSignal struct {
	context.Context
	once    sync.Once
	waiting chan struct{}
}

func (d *doneSignal) Done() <-chan struct{} {
	d.once.Do(func() { close(d.waiting) })
	return d.Context.Done()
}

// An unknown kid's refetch is a root span linked to every request that
// waits for it; a failed one logs a Warn.
func TestFetchTelemetryUnknownKid(t *testing.T) {
	o := newObserved(t, context.Background(), jwt.Config{MinRefetchInterval: time.Nanosecond})
	o.ends.next(t) // startup
	<-o.proxy.arrived
	tracer := o.traces.Provider.Tracer("test")
	o.a.RotateKey()
	tok := o.a.IssueToken(testutil.TokenClaims{Subject: "alice", Audience: []string{"api"}})

	o.proxy.hold.Store(true)
	var spans []trace.SpanContext
	errs := make(chan error, 2)
	for i := range 2 {
		ctx, span := tracer.Start(context.Background(), "request "+strconv.Itoa(i))
		spans = append(spans, span.SpanContext())
		d := &doneSignal{Context: ctx, waiting: make(chan struct{})}
		go func() {
			defer span.End()
			_, err := o.v.Validate(d, sub(tok))
			errs <- err
		}()
		<-d.waiting // the request waits for the fetch
		if i == 0 {
			<-o.proxy.arrived // the fetch reached the server
		}
	}
	close(o.proxy.gate)
	s := o.ends.next(t)
	for range 2 {
		require.NoError(t, <-errs)
	}
	assert.False(t, s.Parent().IsValid(), "a shared fetch is a root span")
	var linked []trace.SpanContext
	for _, l := range s.Links() {
		linked = append(linked, l.SpanContext)
	}
	assert.ElementsMatch(t, spans, linked, "linked to every request that waited")
	assert.Equal(t, "unknown_kid", attr(t, s, "tokenexchange.trigger"))
	assert.Equal(t, "success", attr(t, s, "tokenexchange.outcome"))
	assert.EqualValues(t, 1, o.fetches(t, "unknown_kid", "success"))
	assert.NotEqual(t, s.SpanContext().TraceID(), spans[0].TraceID())

	// A refetch that fails: the request gets 503 and the operator a Warn.
	o.proxy.fail.Store(true)
	o.a.RotateKey()
	_, err := o.v.Validate(context.Background(), sub(o.a.IssueToken(testutil.TokenClaims{Audience: []string{"api"}})))
	require.ErrorIs(t, err, middleware.ErrKeysUnavailable)
	s = o.ends.next(t)
	assert.Equal(t, "error", attr(t, s, "tokenexchange.outcome"))
	assert.Empty(t, s.Links(), "a request without a span adds no link")
	assert.EqualValues(t, 1, o.fetches(t, "unknown_kid", "error"))
	recs := o.records(t)
	require.NotEmpty(t, recs)
	last := recs[len(recs)-1]
	assert.Equal(t, "WARN", last["level"])
	assert.Equal(t, "jwt: key set refetch for an unknown kid failed", last["msg"])
}

// Tokens and subjects sent to the middleware never reach metrics, spans or logs.
func TestTelemetryLeak(t *testing.T) {
	o := newObserved(t, context.Background(), jwt.Config{RefreshInterval: time.Nanosecond, MinRefetchInterval: time.Nanosecond})
	o.ends.next(t)
	h := middleware.Bearer(middleware.Options{Validator: o.v, MeterProvider: o.metrics.Provider})(http.HandlerFunc(echoToken))
	tracer := o.traces.Provider.Tracer("test")
	const subject = "alice-secret-subject@example.com"
	good := o.a.IssueToken(testutil.TokenClaims{Subject: subject, Audience: []string{"api"}, Scope: "read"})
	expired := o.a.IssueToken(testutil.TokenClaims{Subject: subject, Audience: []string{"api"}, Expiry: time.Now().Add(-time.Hour)})
	foreign := o.a.IssueToken(testutil.TokenClaims{Subject: subject, Audience: []string{"elsewhere"}})
	o.a.RotateKey()
	unknownKid := o.a.IssueToken(testutil.TokenClaims{Subject: subject, Audience: []string{"api"}})
	tokens := []string{good, expired, foreign, unknownKid, good + "x", "opaque-secret-token"}
	for i, tok := range tokens {
		if i == 3 {
			o.proxy.fail.Store(true) // the unknown kid's refetch fails
		}
		ctx, span := tracer.Start(context.Background(), "request")
		req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/resource", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		h.ServeHTTP(httptest.NewRecorder(), req)
		span.End()
	}
	o.v.Close() // no fetch runs any more: everything is recorded

	all := strings.Join(append(o.metrics.Strings(t), o.traces.Strings()...), "\n") + o.logs.String()
	require.NotEmpty(t, o.records(t), "the failed refetch was logged")
	for _, tok := range tokens {
		assert.NotContains(t, all, tok)
		for _, part := range strings.Split(tok, ".") {
			if len(part) > 8 {
				assert.NotContains(t, all, part)
			}
		}
	}
	assert.NotContains(t, all, "alice")
	assert.NotContains(t, all, "secret")
}
