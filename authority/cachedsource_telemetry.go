package authority

import (
	"context"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// renewal is the telemetry of one renewal of a CachedSource that asks the
// authority: its span, counted and logged when it ends.
type renewal struct {
	s          *CachedSource
	ctx        context.Context // the renewal's own, holding its span
	span       trace.Span
	background bool

	// Set by renew as it goes.
	grant          string        // the grant_type used last
	failuresBefore int           // renewals failed in a row before this one
	backoff        time.Duration // the wait before the next, after a failure
}

// startRenew starts the span of a renewal: a new root, since the renewal
// is shared and runs on its own context, linked to caller, the span of
// the caller that started it.
func (s *CachedSource) startRenew(ctx context.Context, caller trace.Link, background bool) *renewal {
	opts := []trace.SpanStartOption{
		trace.WithNewRoot(),
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(attrBackground.Bool(background)),
	}
	if caller.SpanContext.IsValid() {
		opts = append(opts, trace.WithLinks(caller))
	}
	ctx, span := s.client.tel.tracer.Start(ctx, spanRenew, opts...)
	return &renewal{s: s, ctx: ctx, span: span, background: background}
}

// refreshRefused records that the authority refused the refresh token
// (err, an invalid_grant) and that a fresh grant follows.
func (r *renewal) refreshRefused(err error) {
	r.span.AddEvent("refresh token refused; fresh grant")
	r.s.log.Log(r.ctx, slog.LevelWarn, "authority: token source: the refresh token was refused; renewing with a fresh grant",
		slog.String("code", ErrorCodeOf(err)), slog.Any("error", err))
}

// end ends the span, counts the renewal and logs what the operator should
// know: a failed background renewal (no caller sees its error) with the
// backoff, a token issued without lifetime, renewals that succeed again
// after failures, and, at Debug, a routine renewal.
func (r *renewal) end(tok *Token, err error) {
	outcome, code, grant := outcomeOf(err), ErrorCodeOf(err), grantAttr(r.grant)
	r.span.SetAttributes(attrGrant.String(grant))
	endSpan(r.span, outcome, code)
	r.s.client.tel.renewals.Add(r.ctx, 1, metric.WithAttributes(attrGrant.String(grant), attrOutcome.String(outcome)))

	log := r.s.log
	switch {
	case err != nil && r.background:
		args := []any{slog.String("grant", grant), slog.Int("failures", r.failuresBefore+1), slog.Duration("retry_in", r.backoff)}
		if code != "" {
			args = append(args, slog.String("code", code))
		}
		log.Log(r.ctx, slog.LevelWarn, "authority: token source: background renewal failed; the current token is served until it expires", append(args, slog.Any("error", err))...)
	case err != nil:
		// Its callers get the error.
	case tok.ZeroLifetime():
		log.Log(r.ctx, slog.LevelWarn, "authority: token source: the authorization server issued a token without lifetime; it is not cached",
			slog.String("grant", grant), slog.Duration("retry_in", r.backoff))
	case r.failuresBefore > 0:
		log.Log(r.ctx, slog.LevelInfo, "authority: token source: renewal succeeded after failures",
			slog.String("grant", grant), slog.Int("failures", r.failuresBefore))
	default:
		log.Log(r.ctx, slog.LevelDebug, "authority: token source: token renewed",
			slog.String("grant", grant), slog.Bool("background", r.background))
	}
}

// grantTypeOf returns the grant_type g sends when this package knows it,
// otherwise "" (counted as "other").
func grantTypeOf(g Grant) string {
	switch g.(type) {
	case ClientCredentialsRequest, *ClientCredentialsRequest:
		return GrantClientCredentials
	case PasswordRequest, *PasswordRequest:
		return GrantPassword
	}
	return ""
}
