package authority

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// spanIntrospect is the span of one request to the introspection endpoint.
const spanIntrospect = "tokenexchange.authority.introspect"

// startIntrospect starts the span of one introspection, a child of the
// span in ctx.
func (c *Client) startIntrospect(ctx context.Context) (context.Context, trace.Span) {
	return c.tel.tracer.Start(ctx, spanIntrospect,
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attrGrant.String(GrantIntrospection)))
}

// endIntrospect ends the span of an introspection and records its
// duration in tokenexchange.authority.request.duration under
// tokenexchange.grant "introspection". status is the reply's HTTP
// status, 0 when there was none.
func (c *Client) endIntrospect(ctx context.Context, span trace.Span, seconds float64, status int, err error) {
	outcome, code := outcomeOf(err), ErrorCodeOf(err)
	if status > 0 {
		span.SetAttributes(attrStatusCode.Int(status))
	}
	endSpan(span, outcome, code)
	attrs := []attribute.KeyValue{attrGrant.String(GrantIntrospection), attrOutcome.String(outcome)}
	if code != "" {
		attrs = append(attrs, attrOAuthError.String(code))
	}
	c.tel.duration.Record(ctx, seconds, metric.WithAttributes(attrs...))
}
