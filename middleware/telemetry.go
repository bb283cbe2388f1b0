package middleware

import (
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/go-tokenexchange/tokenexchange/internal/semconv"
)

// scopeName is the instrumentation scope of the middleware's meter.
const scopeName = "github.com/go-tokenexchange/tokenexchange/middleware"

// Attribute keys of the middleware's instruments and span events.
const (
	reasonKey  = semconv.Reason
	outcomeKey = semconv.Outcome
)

// refusedEvent names the event a refusal adds to the span of the request's
// context (owned by the application's HTTP server instrumentation).
const refusedEvent = "tokenexchange.inbound.refused"

// reason is a refusal reason: an index into reasonNames.
type reason int

// The refusal reasons, the values of the tokenexchange.reason attribute.
const (
	reasonMissingToken reason = iota
	reasonUnsupportedScheme
	reasonMalformedHeader
	reasonMultipleHeaders
	reasonTokenTooLarge
	reasonTokenInQuery
	reasonInvalidToken
	reasonInsufficientScope
	reasonUnavailable
	reasonRejected
	reasonOther
	numReasons
)

var reasonNames = [numReasons]string{
	reasonMissingToken:      "missing_token",
	reasonUnsupportedScheme: "unsupported_scheme",
	reasonMalformedHeader:   "malformed_header",
	reasonMultipleHeaders:   "multiple_headers",
	reasonTokenTooLarge:     "token_too_large",
	reasonTokenInQuery:      "token_in_query",
	reasonInvalidToken:      "invalid_token",
	reasonInsufficientScope: "insufficient_scope",
	reasonUnavailable:       "unavailable",
	reasonRejected:          "rejected",
	reasonOther:             "other",
}

// String returns the attribute value of r.
func (r reason) String() string { return reasonNames[r] }

// sentinelReasons maps the sentinels to their reasons, in the order they
// are tried: ErrRejected before the token errors, since a policy refusal
// may wrap any of them.
var sentinelReasons = [...]struct {
	err    error
	reason reason
}{
	{ErrMissingToken, reasonMissingToken},
	{ErrUnsupportedScheme, reasonUnsupportedScheme},
	{ErrMalformedHeader, reasonMalformedHeader},
	{ErrMultipleHeaders, reasonMultipleHeaders},
	{ErrTokenTooLarge, reasonTokenTooLarge},
	{ErrTokenInQuery, reasonTokenInQuery},
	{ErrUnavailable, reasonUnavailable},
	{ErrInsufficientScope, reasonInsufficientScope},
	{ErrRejected, reasonRejected},
	{ErrMalformedToken, reasonInvalidToken},
	{ErrUnsupportedAlgorithm, reasonInvalidToken},
	{ErrUnknownKey, reasonInvalidToken},
	{ErrInvalidSignature, reasonInvalidToken},
	{ErrInvalidType, reasonInvalidToken},
	{ErrMissingClaim, reasonInvalidToken},
	{ErrInvalidClaim, reasonInvalidToken},
	{ErrExpired, reasonInvalidToken},
	{ErrNotYetValid, reasonInvalidToken},
	{ErrInvalidIssuer, reasonInvalidToken},
	{ErrInvalidAudience, reasonInvalidToken},
}

// reasonOf returns the reason of a refusal for err: that of the first
// sentinel err wraps; for an [*Error] (of a Validator's) that wraps none
// of them, its code (invalid_token, insufficient_scope); otherwise, as
// for an error of a Validator's that is not an *Error, reasonOther.
func reasonOf(err error) reason {
	for _, s := range sentinelReasons {
		if errors.Is(err, s.err) {
			return s.reason
		}
	}
	var e *Error
	if errors.As(err, &e) {
		switch e.Code {
		case CodeInvalidToken:
			return reasonInvalidToken
		case CodeInsufficientScope:
			return reasonInsufficientScope
		}
	}
	return reasonOther
}

// outcome is the outcome of one request: an index into outcomeNames.
type outcome int

// The outcomes of the tokenexchange.inbound.requests counter.
const (
	outcomeAccepted outcome = iota
	outcomeAnonymous
	outcomeRefused
	numOutcomes
)

var outcomeNames = [numOutcomes]string{
	outcomeAccepted:  "accepted",
	outcomeAnonymous: "anonymous",
	outcomeRefused:   "refused",
}

// telemetry holds the middleware's instruments and, precomputed so that
// recording allocates nothing, the options of every attribute set.
type telemetry struct {
	requests metric.Int64Counter
	refusals metric.Int64Counter

	requestOpts [numOutcomes][]metric.AddOption
	refusalOpts [numReasons][]metric.AddOption
	eventOpts   [numReasons][]trace.EventOption
}

// newTelemetry creates the instruments on mp, or on the global provider
// when mp is nil. An instrument that cannot be created is replaced by a
// no-op one, the error going to otel.Handle.
func newTelemetry(mp metric.MeterProvider) *telemetry {
	m := semconv.MeterProvider(mp).Meter(scopeName)
	t := &telemetry{
		requests: semconv.Int64Counter(m, "tokenexchange.inbound.requests", "{request}",
			"Requests the inbound bearer middleware handled, by outcome: accepted (a token passed), anonymous (no credentials, Options.Optional) or refused."),
		refusals: semconv.Int64Counter(m, "tokenexchange.inbound.refusals", "{request}",
			"Requests the inbound bearer middleware refused (or answered 503 for), by reason."),
	}
	for o := range numOutcomes {
		t.requestOpts[o] = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(outcomeKey.String(outcomeNames[o])))}
	}
	for r := range numReasons {
		kv := reasonKey.String(reasonNames[r])
		t.refusalOpts[r] = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(kv))}
		t.eventOpts[r] = []trace.EventOption{trace.WithAttributes(kv)}
	}
	return t
}
