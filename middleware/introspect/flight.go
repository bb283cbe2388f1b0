package introspect

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/middleware"
	"go.opentelemetry.io/otel/trace"
)

// flight is one introspection that callers with the same token wait on.
// claims and err are written before done is closed and read after.
type flight struct {
	done   chan struct{}
	claims *middleware.Claims
	err    error
}

// await joins the flight for d, starting it if there is none (unless
// MaxInFlight are running already), and waits for it on ctx.
func (v *Validator) await(ctx context.Context, d digest, token authority.SubjectToken) (*middleware.Claims, error) {
	v.mu.Lock()
	f, joined := v.flights[d]
	switch {
	case joined:
		v.counts.coalesced.Add(1)
	case v.closed:
		v.mu.Unlock()
		return nil, unavailableError(ErrIntrospectionUnavailable, nil, "token introspection unavailable", 0)
	case v.counts.inFlight.Load() >= v.maxInFlight:
		v.mu.Unlock()
		v.counts.busy.Add(1)
		return nil, unavailableError(ErrBusy, nil, "too many token introspections in flight", busyRetryAfter)
	default:
		v.counts.misses.Add(1)
		v.counts.inFlight.Add(1)
		f = &flight{done: make(chan struct{})}
		v.flights[d] = f
		v.wg.Add(1)
		go v.run(ctx, d, token, f)
	}
	v.mu.Unlock()
	if joined && v.onJoin != nil {
		v.onJoin()
	}
	select {
	case <-f.done:
		return f.claims, f.err
	case <-ctx.Done():
		return nil, unavailableError(ErrIntrospectionUnavailable, ctx.Err(), "token introspection unavailable", 0)
	}
}

// run makes the introspection of a flight, detached from the caller that
// started it: it joins that caller's trace, but keeps none of its
// context's values (the request's token among them) and none of its
// cancellation; it runs under Timeout and Close, records its answer in
// the caches, and releases the waiting callers.
func (v *Validator) run(callerCtx context.Context, d digest, token authority.SubjectToken, f *flight) {
	defer v.wg.Done()
	detached := trace.ContextWithSpanContext(context.Background(), trace.SpanContextFromContext(callerCtx))
	ctx, cancel := context.WithTimeout(detached, v.timeout)
	stopOnClose := context.AfterFunc(v.closing, cancel)
	ctx, span := v.tel.start(ctx)
	start := time.Now()
	claims, o, err := v.introspect(ctx, d, token)
	v.tel.end(ctx, span, o, time.Since(start).Seconds())
	stopOnClose()
	cancel()
	v.counts.outcomes[o].Add(1)
	f.claims, f.err = claims, err
	v.mu.Lock()
	delete(v.flights, d)
	v.counts.inFlight.Add(-1)
	v.mu.Unlock()
	close(f.done)
}

// introspect asks the endpoint about token and checks the answer, caching
// it unless the endpoint failed.
func (v *Validator) introspect(ctx context.Context, d digest, token authority.SubjectToken) (*middleware.Claims, outcome, error) {
	in, err := v.client.Introspect(ctx, token, v.hint)
	now := v.now()
	if err != nil {
		e := v.unavailable(ctx, err)
		v.lastError.Store(e)
		return nil, outcomeUnavailable, e
	}
	v.lastError.Store(nil)
	if !in.Active {
		e := tokenError(ErrInactive, "token is not active")
		v.caches.putRefusal(d, e, now, v.refusalAge)
		return nil, outcomeInactive, e
	}
	if e := checkTokenType(in.Claims); e != nil {
		v.caches.putRefusal(d, e, now, v.refusalAge)
		return nil, outcomeRefused, e
	}
	claims, err := middleware.ParseClaims(in.Claims)
	if err != nil {
		var e *middleware.Error
		if !errors.As(err, &e) {
			e = tokenError(middleware.ErrMalformedToken, "malformed introspection claims")
		}
		v.caches.putRefusal(d, e, now, v.refusalAge)
		return nil, outcomeRefused, e
	}
	if e := v.checkClaims(claims, now); e != nil {
		v.caches.putRefusal(d, e, now, v.refusalAge)
		return nil, outcomeRefused, e
	}
	v.caches.putActive(d, claims, len(in.Claims), now, v.maxAge, v.leeway)
	return claims, outcomeActive, nil
}

// unavailable turns a failed introspection into a 503, with the
// endpoint's Retry-After, and logs it: a refusal of the gateway's own
// request (401, 403, invalid_client, any permanent refusal) as a
// misconfiguration.
func (v *Validator) unavailable(ctx context.Context, err error) *middleware.Error {
	var retry time.Duration
	status := 0
	var ae *authority.Error
	if errors.As(err, &ae) {
		retry, status = ae.RetryAfter, ae.StatusCode
	}
	switch {
	case authority.IsPermanent(err):
		v.tel.log.Log(ctx, slog.LevelError, "introspect: the introspection endpoint refused the gateway's request; check the client's credentials and its permission to introspect",
			slog.Int("status", status), slog.String("error", err.Error()))
	case errors.Is(err, context.Canceled) && v.closing.Err() != nil:
	default:
		v.tel.log.Log(ctx, slog.LevelWarn, "introspect: token introspection failed",
			slog.Int("status", status), slog.String("error", err.Error()))
	}
	return unavailableError(ErrIntrospectionUnavailable, err, "token introspection unavailable", retry)
}
