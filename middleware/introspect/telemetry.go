package introspect

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/go-tokenexchange/tokenexchange/internal/ratelog"
	"github.com/go-tokenexchange/tokenexchange/internal/semconv"
)

// instrumentationScope names the meter and the tracer of this package.
const instrumentationScope = "github.com/go-tokenexchange/tokenexchange/middleware/introspect"

// Span and instrument names; see "Telemetry" in the package documentation.
const (
	spanIntrospect = "tokenexchange.introspect"

	metricLookups        = "tokenexchange.introspect.lookups"
	metricIntrospections = "tokenexchange.introspect.introspections"
	metricDuration       = "tokenexchange.introspect.duration"
	metricInFlight       = "tokenexchange.introspect.in_flight"
	metricBusy           = "tokenexchange.introspect.busy"
	metricEntries        = "tokenexchange.introspect.cache.entries"
	metricEvictions      = "tokenexchange.introspect.cache.evictions"
)

// outcome is the tokenexchange.outcome of an introspection.
type outcome int

const (
	outcomeActive      outcome = iota // active, and the claims passed the checks
	outcomeInactive                   // "active": false
	outcomeRefused                    // active, but the claims or the token's type were refused
	outcomeUnavailable                // the introspection failed
	numOutcomes
)

// String names o for tokenexchange.outcome.
func (o outcome) String() string {
	switch o {
	case outcomeActive:
		return "active"
	case outcomeInactive:
		return "inactive"
	case outcomeRefused:
		return "refused"
	}
	return "unavailable"
}

// telemetry is a Validator's tracer, instruments and log limiter.
type telemetry struct {
	tracer   trace.Tracer
	duration metric.Float64Histogram
	outcomes [numOutcomes]metric.RecordOption // precomputed attribute sets
	log      *ratelog.Limiter

	once sync.Once           // guards the unregistration
	reg  metric.Registration // nil when nothing was registered
}

// newTelemetry resolves cfg's providers and registers the observable
// instruments over v's counters. An instrument the provider fails to
// create is replaced by a no-op one, and the error goes to otel.Handle.
func newTelemetry(cfg Config, v *Validator) *telemetry {
	t := &telemetry{
		tracer: semconv.TracerProvider(cfg.TracerProvider).Tracer(instrumentationScope),
		log:    ratelog.New(cfg.Logger, time.Minute, nil),
	}
	for o := range numOutcomes {
		t.outcomes[o] = metric.WithAttributeSet(attribute.NewSet(semconv.Outcome.String(o.String())))
	}
	meter := semconv.MeterProvider(cfg.MeterProvider).Meter(instrumentationScope)
	t.duration = semconv.Float64Histogram(meter, metricDuration,
		"Duration of the validator's introspections, by outcome (active, inactive, refused, unavailable).")
	counter := func(name, unit, desc string) metric.Int64ObservableCounter {
		return semconv.Int64ObservableCounter(meter, name, unit, desc)
	}
	gauge := func(name, unit, desc string) metric.Int64ObservableGauge {
		return semconv.Int64ObservableGauge(meter, name, unit, desc)
	}
	lookups := counter(metricLookups, "{lookup}", "Tokens the introspection validator looked up, by result: hit (an active answer from the cache), negative_hit (a refusal from the cache), miss (an introspection started), coalesced (joined one in flight).")
	introspections := counter(metricIntrospections, "{introspection}", "Introspections the validator made, by outcome: active, inactive, refused (active, but the claims were refused), unavailable (the endpoint failed).")
	inFlight := gauge(metricInFlight, "{introspection}", "Introspections in flight.")
	busy := counter(metricBusy, "{request}", "Requests answered 503 because MaxInFlight introspections were in flight.")
	entries := gauge(metricEntries, "{entry}", "Entries of the validator's caches, by tokenexchange.lookup: hit (active answers) and negative_hit (refusals), counting some that have expired.")
	evictions := counter(metricEvictions, "{entry}", "Active answers evicted from the validator's cache to keep its bounds.")

	set := func(key attribute.Key, v string) metric.ObserveOption {
		return metric.WithAttributeSet(attribute.NewSet(key.String(v)))
	}
	hit, negative := set(semconv.Lookup, "hit"), set(semconv.Lookup, "negative_hit")
	miss, coalesced := set(semconv.Lookup, "miss"), set(semconv.Lookup, "coalesced")
	var byOutcome [numOutcomes]metric.ObserveOption
	for o := range numOutcomes {
		byOutcome[o] = set(semconv.Outcome, o.String())
	}
	c := &v.counts
	t.reg = semconv.RegisterCallback(meter, func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(lookups, c.hits.Load(), hit)
		o.ObserveInt64(lookups, c.refusalHits.Load(), negative)
		o.ObserveInt64(lookups, c.misses.Load(), miss)
		o.ObserveInt64(lookups, c.coalesced.Load(), coalesced)
		for i := range byOutcome {
			o.ObserveInt64(introspections, c.outcomes[i].Load(), byOutcome[i])
		}
		o.ObserveInt64(inFlight, c.inFlight.Load())
		o.ObserveInt64(busy, c.busy.Load())
		active, refusals := v.caches.len()
		o.ObserveInt64(entries, int64(active), hit)
		o.ObserveInt64(entries, int64(refusals), negative)
		o.ObserveInt64(evictions, v.caches.evictions.Load())
		return nil
	}, lookups, introspections, inFlight, busy, entries, evictions)
	return t
}

// start starts the span of one introspection, a child of the span of the
// caller that started it.
func (t *telemetry) start(ctx context.Context) (context.Context, trace.Span) {
	return t.tracer.Start(ctx, spanIntrospect, trace.WithSpanKind(trace.SpanKindInternal))
}

// end ends an introspection's span and records its duration.
func (t *telemetry) end(ctx context.Context, span trace.Span, o outcome, seconds float64) {
	span.SetAttributes(semconv.Outcome.String(o.String()))
	if o == outcomeUnavailable {
		span.SetStatus(codes.Error, o.String())
	}
	span.End()
	t.duration.Record(ctx, seconds, t.outcomes[o])
}

// stop unregisters the observable instruments, once.
func (t *telemetry) stop() {
	t.once.Do(func() { semconv.Unregister(t.reg) })
}
