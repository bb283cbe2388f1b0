package outbound

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/go-tokenexchange/tokenexchange/internal/semconv"
)

// instrumentationScope names the meter of this package.
const instrumentationScope = "github.com/go-tokenexchange/tokenexchange/outbound"

// Instrument names; see "Telemetry" in the package documentation.
const (
	metricRetries        = "tokenexchange.outbound.retries"
	metricRefusalWindows = "tokenexchange.outbound.refusal_windows"
	metricErrors         = "tokenexchange.outbound.errors"
	metricMemory         = "tokenexchange.outbound.refusal_memory.calls"
)

// Attribute keys. Their values come from closed sets or from the
// configuration (a route's name), never from a request or a token.
const (
	attrRoute   = semconv.Route
	attrOutcome = semconv.Outcome
	attrReason  = semconv.Reason
	// attrOperation is the key exchange/rediscache uses for its calls.
	attrOperation = semconv.Operation
)

// retryOutcome is what became of a downstream 401 (tokenexchange.outcome
// of tokenexchange.outbound.retries).
type retryOutcome int

const (
	retryResent   retryOutcome = iota // resent once with a fresh token
	retryPassedOn                     // passed on in a refusal window
	retryNoBody                       // passed on: the body could not be replayed
	numRetryOutcomes
)

func (o retryOutcome) String() string {
	switch o {
	case retryResent:
		return "resent"
	case retryPassedOn:
		return "passed_on"
	case retryNoBody:
		return "no_body"
	}
	return "other"
}

// errorReason is why the transport refused a request or could not get its
// token (tokenexchange.reason of tokenexchange.outbound.errors).
type errorReason int

const (
	reasonNoRoute errorReason = iota
	reasonAmbiguousPath
	reasonHostMismatch
	reasonNoSubjectToken
	reasonNoInboundContext
	reasonExchange
	reasonTokenSource
	reasonOther
	numReasons
)

func (r errorReason) String() string {
	switch r {
	case reasonNoRoute:
		return "no_route"
	case reasonAmbiguousPath:
		return "ambiguous_path"
	case reasonHostMismatch:
		return "host_mismatch"
	case reasonNoSubjectToken:
		return "no_subject_token"
	case reasonNoInboundContext:
		return "no_inbound_context"
	case reasonExchange:
		return "exchange"
	case reasonTokenSource:
		return "token_source"
	}
	return "other"
}

// tokenReason is the reason for a route of mode m that could not get its
// token from its exchanger or token source.
func tokenReason(m Mode) errorReason {
	switch m {
	case ModeExchange:
		return reasonExchange
	case ModeOwnToken:
		return reasonTokenSource
	}
	return reasonOther
}

// telemetry is the Transport's instruments and the attribute options of
// the requests no route takes, made once by [New] so that counting
// allocates nothing.
type telemetry struct {
	retries, windows, errors metric.Int64Counter
	// unrouted are the options of errors for requests without a route.
	unrouted [numReasons][]metric.AddOption
	// memory counts the calls to the RefusalMemory, with memoryOpts.
	memory     metric.Int64Counter
	memoryOpts [numMemoryOps][numMemoryOutcomes][]metric.AddOption
}

// routeTelemetry is a route's attribute options, one per value.
type routeTelemetry struct {
	retries [numRetryOutcomes][]metric.AddOption
	window  []metric.AddOption
	errors  [numReasons][]metric.AddOption
}

// newTelemetry creates the instruments on mp (the global provider when
// nil) and the attribute options of every route of routes. An instrument
// the provider fails to create is replaced by a no-op one, and the error
// goes to otel.Handle.
func newTelemetry(mp metric.MeterProvider, routes table) *telemetry {
	meter := semconv.MeterProvider(mp).Meter(instrumentationScope)
	counter := func(name, unit, desc string) metric.Int64Counter {
		return semconv.Int64Counter(meter, name, unit, desc)
	}
	t := &telemetry{
		retries: counter(metricRetries, "{retry}",
			"Downstream 401 answers to a request with a token, by route and what became of them: resent once with a fresh token, passed on in a refusal window, or passed on because the body could not be replayed."),
		windows: counter(metricRefusalWindows, "{window}",
			"Refusal windows begun, by route: the downstream refused a fresh token, or the token source had no other."),
		errors: counter(metricErrors, "{request}",
			"Requests the transport refused or could not get a token for, by route (when one matched) and reason."),
		memory: counter(metricMemory, "{call}",
			"Calls to the shared refusal memory (Options.RefusalMemory), by operation (recall, remember) and outcome (hit, miss, ok, error)."),
	}
	for op := range numMemoryOps {
		for o := range numMemoryOutcomes {
			t.memoryOpts[op][o] = addOptions(attrOperation.String(op.String()), attrOutcome.String(o.String()))
		}
	}
	for reason := range numReasons {
		t.unrouted[reason] = addOptions(attrReason.String(reason.String()))
	}
	for _, rs := range routes {
		for _, r := range rs {
			name := attrRoute.String(r.label)
			for o := range numRetryOutcomes {
				r.tel.retries[o] = addOptions(name, attrOutcome.String(o.String()))
			}
			r.tel.window = addOptions(name)
			for reason := range numReasons {
				r.tel.errors[reason] = addOptions(name, attrReason.String(reason.String()))
			}
		}
	}
	return t
}

func addOptions(kvs ...attribute.KeyValue) []metric.AddOption {
	return []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(kvs...))}
}

// countError counts a request refused for reason; r is its route, nil
// when none matched.
func (t *Transport) countError(ctx context.Context, r *route, reason errorReason) {
	if t.tel == nil {
		return // the zero Transport
	}
	if r == nil {
		t.tel.errors.Add(ctx, 1, t.tel.unrouted[reason]...)
		return
	}
	t.tel.errors.Add(ctx, 1, r.tel.errors[reason]...)
}

// countRetry counts a downstream 401 on route r and what became of it.
func (t *Transport) countRetry(ctx context.Context, r *route, o retryOutcome) {
	if t.tel != nil {
		t.tel.retries.Add(ctx, 1, r.tel.retries[o]...)
	}
}

// countWindow counts a refusal window begun on route r.
func (t *Transport) countWindow(ctx context.Context, r *route) {
	if t.tel != nil {
		t.tel.windows.Add(ctx, 1, r.tel.window...)
	}
}
