package grpcauth

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/go-tokenexchange/tokenexchange/internal/semconv"
)

// scopeName is the instrumentation scope of the interceptor's meter.
const scopeName = "github.com/go-tokenexchange/tokenexchange/middleware/grpcauth"

// refusedEvent names the event a refusal adds to the call's span, as
// package middleware names it.
const refusedEvent = "tokenexchange.inbound.refused"

// outcome is the outcome of one call: an index into outcomeNames.
type outcome int

const (
	outcomeAccepted outcome = iota
	outcomeAnonymous
	outcomeRefused
	outcomeSkipped
	numOutcomes
)

var outcomeNames = [numOutcomes]string{
	outcomeAccepted:  "accepted",
	outcomeAnonymous: "anonymous",
	outcomeRefused:   "refused",
	outcomeSkipped:   "skipped",
}

// telemetry holds the interceptor's instruments and the precomputed
// options of every outcome, so that counting an accepted call allocates
// nothing.
type telemetry struct {
	requests, refusals metric.Int64Counter
	outcomeOpts        [numOutcomes][]metric.AddOption
}

// newTelemetry creates the instruments on mp, or on the global provider
// when mp is nil. An instrument that cannot be created is replaced by a
// no-op one, the error going to otel.Handle.
func newTelemetry(mp metric.MeterProvider) *telemetry {
	m := semconv.MeterProvider(mp).Meter(scopeName)
	t := &telemetry{
		requests: semconv.Int64Counter(m, "tokenexchange.inbound.requests", "{request}",
			"Calls the inbound bearer interceptor handled, by outcome: accepted, anonymous (Options.Optional), refused or skipped (Options.Skip)."),
		refusals: semconv.Int64Counter(m, "tokenexchange.inbound.refusals", "{request}",
			"Calls the inbound bearer interceptor refused (or answered Unavailable for), by reason."),
	}
	for o := range numOutcomes {
		t.outcomeOpts[o] = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(semconv.Outcome.String(outcomeNames[o])))}
	}
	return t
}

// count counts a call of outcome o.
func (t *telemetry) count(ctx context.Context, o outcome) {
	t.requests.Add(ctx, 1, t.outcomeOpts[o]...)
}

// refused counts a refused call and adds the event to its span. reason
// is from the closed set of middleware.RefusalReason.
func (t *telemetry) refused(ctx context.Context, reason string) {
	t.count(ctx, outcomeRefused)
	kv := semconv.Reason.String(reason)
	t.refusals.Add(ctx, 1, metric.WithAttributeSet(attribute.NewSet(kv)))
	trace.SpanFromContext(ctx).AddEvent(refusedEvent, trace.WithAttributes(kv))
}
