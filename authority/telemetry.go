package authority

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/go-tokenexchange/tokenexchange/internal/semconv"
)

// instrumentationScope names the meter and the tracer of this package.
const instrumentationScope = "github.com/go-tokenexchange/tokenexchange/authority"

// Span and instrument names; see "Telemetry" in the package documentation.
const (
	spanToken     = "tokenexchange.authority.token"
	spanDiscovery = "tokenexchange.authority.discovery"
	spanRenew     = "tokenexchange.token_source.renew"

	metricRequestDuration = "tokenexchange.authority.request.duration"
	metricRenewals        = "tokenexchange.token_source.renewals"
)

// Attribute keys. Their values come from closed sets or from the
// configuration, never from a token, a secret or the network.
const (
	attrGrant      = semconv.Grant
	attrOutcome    = semconv.Outcome
	attrOAuthError = semconv.OAuthError
	attrBackground = semconv.Background
	attrStatusCode = semconv.HTTPStatusCode
	attrServerAddr = semconv.ServerAddress
)

// Outcomes of a request or a renewal (tokenexchange.outcome).
const (
	outcomeSuccess  = "success"
	outcomeRefused  = "refused"
	outcomeError    = "error"
	outcomeCanceled = "canceled"
)

// telemetry is a Client's meter, tracer, propagator and logger, resolved
// once by [New].
type telemetry struct {
	tracer     trace.Tracer
	propagator propagation.TextMapPropagator
	logger     *slog.Logger
	duration   metric.Float64Histogram
	renewals   metric.Int64Counter
}

// newTelemetry resolves cfg's providers (the global ones when nil) and
// creates the instruments. An instrument the provider fails to create is
// replaced by a no-op one, and the error goes to otel.Handle.
func newTelemetry(cfg Config) telemetry {
	t := telemetry{
		tracer:     semconv.TracerProvider(cfg.TracerProvider).Tracer(instrumentationScope),
		propagator: cfg.Propagator,
		logger:     cfg.Logger,
	}
	if t.propagator == nil {
		t.propagator = otel.GetTextMapPropagator()
	}
	if t.logger == nil {
		t.logger = slog.Default()
	}
	meter := semconv.MeterProvider(cfg.MeterProvider).Meter(instrumentationScope)
	t.duration = semconv.Float64Histogram(meter, metricRequestDuration,
		"Duration of requests to the token endpoint, by grant, outcome and OAuth error code; discovery, when a request runs it first, is included.")
	t.renewals = semconv.Int64Counter(meter, metricRenewals, "{renewal}",
		"Renewals of a CachedSource's token that asked the authority, by the grant used last and outcome.")
	return t
}

// grantAttr names grant (a grant_type) for tokenexchange.grant, from a
// closed set.
func grantAttr(grant string) string {
	switch grant {
	case GrantTokenExchange:
		return "token_exchange"
	case GrantClientCredentials:
		return "client_credentials"
	case GrantPassword:
		return "password"
	case GrantRefreshToken:
		return "refresh_token"
	case GrantJWTBearer:
		return "jwt_bearer"
	}
	return "other"
}

// outcomeOf classifies err for tokenexchange.outcome: success, canceled
// (the caller's context), refused (a permanent refusal, [IsPermanent]) or
// error (anything that may pass: 5xx, network, timeout).
func outcomeOf(err error) string {
	switch {
	case err == nil:
		return outcomeSuccess
	case errors.Is(err, context.Canceled):
		return outcomeCanceled
	case IsPermanent(err):
		return outcomeRefused
	}
	return outcomeError
}

// endSpan sets the outcome and error code of span, marks it failed with a
// closed-set description when err is not nil, and ends it. The error's
// text is never recorded: it may hold the authority's words.
func endSpan(span trace.Span, outcome, code string) {
	span.SetAttributes(attrOutcome.String(outcome))
	if code != "" {
		span.SetAttributes(attrOAuthError.String(code))
	}
	if outcome != outcomeSuccess {
		desc := outcome
		if code != "" {
			desc = code
		}
		span.SetStatus(codes.Error, desc)
	}
	span.End()
}

// startToken starts the span of one request to the token endpoint for
// grant, a child of the span in ctx.
func (c *Client) startToken(ctx context.Context, grant string) (context.Context, trace.Span) {
	return c.tel.tracer.Start(ctx, spanToken,
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attrGrant.String(grantAttr(grant))))
}

// endToken ends the span of a token request and records its duration.
// status is the reply's HTTP status, 0 when there was none.
func (c *Client) endToken(ctx context.Context, span trace.Span, grant string, seconds float64, status int, err error) {
	outcome, code := outcomeOf(err), ErrorCodeOf(err)
	if status > 0 {
		span.SetAttributes(attrStatusCode.Int(status))
	}
	endSpan(span, outcome, code)
	attrs := []attribute.KeyValue{attrGrant.String(grantAttr(grant)), attrOutcome.String(outcome)}
	if code != "" {
		attrs = append(attrs, attrOAuthError.String(code))
	}
	c.tel.duration.Record(ctx, seconds, metric.WithAttributes(attrs...))
}

// startDiscovery starts the span of the Client's discovery, a child of
// the span in ctx.
func (c *Client) startDiscovery(ctx context.Context) (context.Context, trace.Span) {
	return c.tel.tracer.Start(ctx, spanDiscovery,
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attrServerAddr.String(hostOf(c.cfg.Issuer))))
}

// inject writes the span context of ctx into h with the configured
// propagator.
func (c *Client) inject(ctx context.Context, h http.Header) {
	c.tel.propagator.Inject(ctx, propagation.HeaderCarrier(h))
}

// hostOf returns the host name of an endpoint URL, for server.address: it
// comes from the configuration or from the issuer's own metadata, and
// holds no credentials ([checkEndpointURL] refuses them).
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Hostname()
}
