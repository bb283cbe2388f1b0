package exchange

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/internal/ratelog"
	"github.com/go-tokenexchange/tokenexchange/internal/semconv"
)

// instrumentationName is the name of the package's meter and tracer.
const instrumentationName = "github.com/go-tokenexchange/tokenexchange/exchange"

// Span names.
const (
	spanExchange = "tokenexchange.exchange"
	spanWait     = "tokenexchange.exchange.wait"
)

// Events of a flight's span with a shared tier.
const (
	eventSharedHit    = "shared hit"
	eventLockLost     = "lock lost; waiting"
	eventWaitTimedOut = "wait timed out"
)

// maxFlightLinks bounds the links from one flight's span to the spans of
// the callers waiting for it.
const maxFlightLinks = 128

// Attribute keys. Their values come from a closed set or from the
// configuration (Target.Name), never from a token or the network.
const (
	attrTarget    = semconv.Target
	attrOutcome   = semconv.Outcome
	attrOAuthErr  = semconv.OAuthError
	attrRefresh   = semconv.Refresh
	attrReason    = semconv.Reason
	attrLookup    = semconv.Lookup
	attrCoalesced = semconv.Coalesced
	attrOperation = semconv.Operation
)

// Outcomes, the values of attrOutcome.
const (
	outcomeSuccess  = "success"
	outcomeRefused  = "refused"
	outcomeError    = "error"
	outcomeCanceled = "canceled"
	outcomeClosed   = "closed"
	outcomeBusy     = "busy"
)

// telemetry is what an Exchanger reports through, resolved once by New.
type telemetry struct {
	tracer   trace.Tracer
	duration metric.Float64Histogram
	log      *ratelog.Limiter
	// reg is the registration of the callback that reports the counters;
	// nil when it failed. Close unregisters it. sharedReg is that of the
	// shared tier's counters, nil without one.
	reg, sharedReg metric.Registration
}

// observed are the asynchronous instruments fed by the counters, with
// their attribute options computed once.
type observed struct {
	lookups, evictions, cacheErrors, refreshes, rejections, canceled metric.Int64ObservableCounter
	entries, inFlight                                                metric.Int64ObservableUpDownCounter
	lookupOpts                                                       [LookupSharedHit + 1][]metric.ObserveOption
	refreshSuccess, refreshFailure, refreshSkipped, refreshAdopted   []metric.ObserveOption
	rejectBusy, rejectSlotTimeout                                    []metric.ObserveOption
}

// initTelemetry resolves the providers and logger of opts and registers
// the callback that reports x's counters. Instrument errors are handed to
// otel.Handle and replaced by no-op instruments: they never fail New.
func (x *Exchanger) initTelemetry(opts Options) {
	t := &x.tel
	t.tracer = semconv.TracerProvider(opts.TracerProvider).Tracer(instrumentationName)
	t.log = ratelog.New(opts.Logger, time.Minute, opts.Now)
	m := semconv.MeterProvider(opts.MeterProvider).Meter(instrumentationName)
	t.duration = semconv.Float64Histogram(m, "tokenexchange.exchange.duration",
		"Duration of each exchange with the authority, a caller's flight or a background refresh.")

	var o observed
	counter, upDown := semconv.Int64ObservableCounter, semconv.Int64ObservableUpDownCounter
	o.lookups = counter(m, "tokenexchange.exchange.cache.lookups", "{lookup}",
		"Requests for a token by how the cache answered: hit, refresh_ahead (a hit on an entry due for refresh), negative_hit (a refusal remembered), miss (the request started an exchange), coalesced (it joined one another had started) or shared_hit (its exchange's token came from the shared tier).")
	o.evictions = counter(m, "tokenexchange.exchange.cache.evictions", "{entry}",
		"Entries evicted to keep the cache's bounds (only when the cache counts them).")
	o.cacheErrors = counter(m, "tokenexchange.exchange.cache.errors", "{error}",
		"Calls of the cache that failed; each was taken for a miss.")
	o.refreshes = counter(m, "tokenexchange.exchange.refreshes", "{refresh}",
		"Background refreshes started by hits, by outcome: success, failure, skipped (no free slot, or another replica refreshes), or adopted (another replica's new token taken from the shared tier).")
	o.rejections = counter(m, "tokenexchange.exchange.rejections", "{request}",
		"Exchanges rejected before reaching the authority, by reason: busy (too many waiting for a slot) or slot_timeout (no slot within the flight timeout).")
	o.canceled = counter(m, "tokenexchange.exchange.waits.canceled", "{request}",
		"Requests that stopped waiting for an exchange because their context ended.")
	o.entries = upDown(m, "tokenexchange.exchange.cache.entries", "{entry}",
		"Entries in the cache (only when the cache tells).")
	o.inFlight = upDown(m, "tokenexchange.exchange.in_flight", "{exchange}",
		"Exchanges with the authority holding one of the MaxInFlight slots.")

	for l := LookupHit; l <= LookupSharedHit; l++ {
		o.lookupOpts[l] = observeSet(attrLookup.String(l.String()))
	}
	o.refreshSuccess = observeSet(attrOutcome.String("success"))
	o.refreshFailure = observeSet(attrOutcome.String("failure"))
	o.refreshSkipped = observeSet(attrOutcome.String("skipped"))
	o.refreshAdopted = observeSet(attrOutcome.String("adopted"))
	o.rejectBusy = observeSet(attrReason.String("busy"))
	o.rejectSlotTimeout = observeSet(attrReason.String("slot_timeout"))

	t.reg = semconv.RegisterCallback(m, func(_ context.Context, ob metric.Observer) error {
		x.observe(ob, &o)
		return nil
	}, o.lookups, o.evictions, o.cacheErrors, o.refreshes, o.rejections, o.canceled, o.entries, o.inFlight)
	if x.shared != nil {
		x.initSharedTelemetry(m)
	}
}

// observeSet returns the observe options of the attribute set of kv.
func observeSet(kv ...attribute.KeyValue) []metric.ObserveOption {
	return []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(kv...))}
}

// initSharedTelemetry registers the callback that reports the shared
// tier's counters.
func (x *Exchanger) initSharedTelemetry(m metric.Meter) {
	counter, set := semconv.Int64ObservableCounter, observeSet
	errs := counter(m, "tokenexchange.exchange.shared.errors", "{error}",
		"Calls of the shared tier (its Cache or Coordinator) that failed; each was taken for a miss or a lock not taken.")
	locks := counter(m, "tokenexchange.exchange.shared.locks", "{lock}",
		"Attempts to take the fleet-wide lock of a key, by outcome: won, lost (another replica holds it) or error.")
	waits := counter(m, "tokenexchange.exchange.shared.waits", "{wait}",
		"Flights that lost the fleet-wide lock and waited for the holder's token, by outcome: found, or timeout (then they exchanged themselves).")
	invs := counter(m, "tokenexchange.exchange.shared.invalidations", "{invalidation}",
		"Fleet-wide invalidations, by operation: publish (sent by this replica), receive (received, its own included) or apply (removed an in-process entry holding the refused token).")
	won, lost, failed := set(attrOutcome.String("won")), set(attrOutcome.String("lost")), set(attrOutcome.String("error"))
	found, timeout := set(attrOutcome.String("found")), set(attrOutcome.String("timeout"))
	pub, recv, applied := set(attrOperation.String("publish")), set(attrOperation.String("receive")), set(attrOperation.String("apply"))
	val := func(a *atomic.Uint64) int64 { return int64(min(a.Load(), 1<<63-1)) }
	c := &x.stats
	x.tel.sharedReg = semconv.RegisterCallback(m, func(_ context.Context, ob metric.Observer) error {
		ob.ObserveInt64(errs, val(&c.sharedErrors))
		ob.ObserveInt64(locks, val(&c.locksWon), won...)
		ob.ObserveInt64(locks, val(&c.locksLost), lost...)
		ob.ObserveInt64(locks, val(&c.lockErrors), failed...)
		ob.ObserveInt64(waits, val(&c.waitsFound), found...)
		ob.ObserveInt64(waits, val(&c.waitsTimedOut), timeout...)
		ob.ObserveInt64(invs, val(&c.invalidationsPublished), pub...)
		ob.ObserveInt64(invs, val(&c.invalidationsReceived), recv...)
		ob.ObserveInt64(invs, val(&c.invalidationsApplied), applied...)
		return nil
	}, errs, locks, waits, invs)
}

// observe reports the counters.
func (x *Exchanger) observe(ob metric.Observer, o *observed) {
	c := &x.stats
	val := func(n uint64) int64 { return int64(min(n, 1<<63-1)) }
	ob.ObserveInt64(o.lookups, val(c.hits.load()), o.lookupOpts[LookupHit]...)
	ob.ObserveInt64(o.lookups, val(c.refreshAheadHits.load()), o.lookupOpts[LookupRefreshAhead]...)
	ob.ObserveInt64(o.lookups, val(c.negativeHits.Load()), o.lookupOpts[LookupNegativeHit]...)
	ob.ObserveInt64(o.lookups, val(c.waitedMiss.Load()), o.lookupOpts[LookupMiss]...)
	ob.ObserveInt64(o.lookups, val(c.waitedCoalesced.Load()), o.lookupOpts[LookupCoalesced]...)
	if x.shared != nil {
		ob.ObserveInt64(o.lookups, val(c.waitedShared.Load()), o.lookupOpts[LookupSharedHit]...)
	}
	ob.ObserveInt64(o.cacheErrors, val(c.cacheErrors.Load()))
	ob.ObserveInt64(o.refreshes, val(c.refreshSuccesses.Load()), o.refreshSuccess...)
	ob.ObserveInt64(o.refreshes, val(c.refreshFailures.Load()), o.refreshFailure...)
	ob.ObserveInt64(o.refreshes, val(c.refreshSkipped.Load()), o.refreshSkipped...)
	if x.shared != nil {
		ob.ObserveInt64(o.refreshes, val(c.refreshAdopted.Load()), o.refreshAdopted...)
	}
	ob.ObserveInt64(o.rejections, val(c.busy.Load()), o.rejectBusy...)
	ob.ObserveInt64(o.rejections, val(c.slotTimeouts.Load()), o.rejectSlotTimeout...)
	ob.ObserveInt64(o.canceled, val(c.canceled.Load()))
	ob.ObserveInt64(o.inFlight, int64(len(x.slots)))
	if n, ok := x.evictions(); ok {
		ob.ObserveInt64(o.evictions, val(n))
	}
	if n, ok := x.entries(); ok {
		ob.ObserveInt64(o.entries, int64(n))
	}
}

// closeTelemetry stops reporting the counters.
func (x *Exchanger) closeTelemetry() {
	semconv.Unregister(x.tel.reg)
	semconv.Unregister(x.tel.sharedReg)
}

// outcomeOf classifies the result of an exchange, a flight or a wait.
func outcomeOf(err error) string {
	switch {
	case err == nil:
		return outcomeSuccess
	case errors.Is(err, ErrClosed):
		return outcomeClosed
	case errors.Is(err, ErrBusy):
		return outcomeBusy
	case authority.IsPermanent(err):
		return outcomeRefused
	case errors.Is(err, context.Canceled), errors.Is(err, errAbandoned):
		return outcomeCanceled
	}
	return outcomeError
}

// resultAttrs are the attributes of a finished exchange, flight or wait:
// its outcome and, when the authority answered with one, its error code.
func resultAttrs(err error) []attribute.KeyValue {
	kv := []attribute.KeyValue{attrOutcome.String(outcomeOf(err))}
	if code := authority.ErrorCodeOf(err); code != "" {
		kv = append(kv, attrOAuthErr.String(code))
	}
	return kv
}

// endSpan sets span's outcome, error code and status from err, and ends
// it. The status description is the outcome or the error code, never the
// error's text.
func endSpan(span trace.Span, err error) {
	if span.IsRecording() {
		span.SetAttributes(resultAttrs(err)...)
		if err != nil {
			desc := authority.ErrorCodeOf(err)
			if desc == "" {
				desc = outcomeOf(err)
			}
			span.SetStatus(codes.Error, desc)
		}
	}
	span.End()
}

// recordExchange records the duration of one exchange with the authority.
func (x *Exchanger) recordExchange(ctx context.Context, p *Prepared, refresh bool, start time.Time, err error) {
	kv := append(resultAttrs(err), attrRefresh.Bool(refresh))
	if p.name != "" {
		kv = append(kv, attrTarget.String(p.name))
	}
	x.tel.duration.Record(ctx, time.Since(start).Seconds(), metric.WithAttributeSet(attribute.NewSet(kv...)))
}

// flightTrace is the span of one flight or refresh and the links to the
// spans of the callers waiting for it. It is guarded by Exchanger.mu.
type flightTrace struct {
	// span is nil until the flight has started it.
	span trace.Span
	// links are those of the callers that joined before span started.
	links []trace.Link
	// n counts the links given, at most maxFlightLinks.
	n int
}

// addWaiter links the flight's span to the span sc of a caller waiting
// for it, and returns the flight's span context if the flight has started
// its span. Called with Exchanger.mu held.
func (f *flightTrace) addWaiter(sc trace.SpanContext) trace.SpanContext {
	if sc.IsValid() && f.n < maxFlightLinks {
		f.n++
		l := trace.Link{SpanContext: sc}
		if f.span != nil {
			f.span.AddLink(l)
		} else {
			f.links = append(f.links, l)
		}
	}
	return f.spanContext()
}

// spanContext returns the flight's span context, invalid before it has
// started its span. Called with Exchanger.mu held.
func (f *flightTrace) spanContext() trace.SpanContext {
	if f.span == nil {
		return trace.SpanContext{}
	}
	return f.span.SpanContext()
}

// startFlightSpan starts the root span of a flight (refresh false) or a
// background refresh, linked to the callers known so far (and to from,
// the span of the hit that started a refresh), and returns the context
// the exchange runs in. Later callers are linked by addWaiter.
func (x *Exchanger) startFlightSpan(f *flightTrace, p *Prepared, refresh bool, from trace.SpanContext) context.Context {
	kv := []attribute.KeyValue{attrRefresh.Bool(refresh)}
	if p.name != "" {
		kv = append(kv, attrTarget.String(p.name))
	}
	// The span starts outside mu (a span processor's OnStart may take its
	// time); callers that join meanwhile are linked once it has started.
	x.mu.Lock()
	links := f.links
	f.links = nil
	x.mu.Unlock()
	if from.IsValid() {
		links = append(links, trace.Link{SpanContext: from})
	}
	ctx, span := x.tel.tracer.Start(x.life.base, spanExchange,
		trace.WithNewRoot(),
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithLinks(links...),
		trace.WithAttributes(kv...))
	x.mu.Lock()
	late := f.links
	f.span, f.links = span, nil
	x.mu.Unlock()
	for _, l := range late {
		span.AddLink(l)
	}
	return ctx
}

// logRefresh logs the end of a background refresh: a failure at Warn, the
// first success after failures at Info. Neither names the subject; the
// error is the authority's (sanitized, see [authority.Error]) or this
// package's.
func (x *Exchanger) logRefresh(p *Prepared, err error) {
	if err == nil {
		if x.refreshFailing.Swap(false) {
			x.tel.log.Log(context.Background(), slog.LevelInfo, "exchange: background refreshes succeed again",
				slog.String("target", p.name))
		}
		return
	}
	if errors.Is(err, ErrClosed) {
		return // Close ended it: not a failure
	}
	x.refreshFailing.Store(true)
	args := []any{slog.String("target", p.name), slog.String("outcome", outcomeOf(err))}
	if code := authority.ErrorCodeOf(err); code != "" {
		args = append(args, slog.String("code", code))
	}
	args = append(args, slog.Any("error", err))
	x.tel.log.Log(context.Background(), slog.LevelWarn, "exchange: background refresh failed", args...)
}

// logBusy logs that exchanges are being rejected with ErrBusy.
func (x *Exchanger) logBusy() {
	x.tel.log.Log(context.Background(), slog.LevelWarn, "exchange: rejecting exchanges: too many wait for a free slot",
		slog.Int("max_in_flight", x.opts.MaxInFlight))
}

// logShared logs a failure of the shared tier that no caller sees.
func (x *Exchanger) logShared(msg string, err error) {
	x.tel.log.Log(context.Background(), slog.LevelWarn, msg, slog.Any("error", err))
}
