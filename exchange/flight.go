package exchange

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/singleflight"

	"github.com/go-tokenexchange/tokenexchange/authority"
)

// ErrBusy is returned, without asking the authority, when a new exchange
// would have to wait for a free slot ([Options.MaxInFlight]) while
// 4*MaxInFlight exchanges already wait for one. It is temporary: a
// gateway answers 503 Service Unavailable. ([authority.IsTemporary] does
// not know it; test for it with [errors.Is].)
var ErrBusy = errors.New("exchange: too many exchanges waiting for the authority")

// errAbandoned is the result of a flight that gave up waiting for a slot
// because every caller waiting for it had left. A caller that joined it
// anyway (it arrived after the others left) starts a flight of its own.
var errAbandoned = errors.New("exchange: abandoned by its callers")

// maxWaitingFactor times MaxInFlight bounds the flights waiting for a slot.
const maxWaitingFactor = 4

// callers counts the callers waiting for the flight of one key, so that a
// flight whose callers have all left before it took a slot gives up
// waiting. It is guarded by Exchanger.mu.
type callers struct {
	n int
	// started is set when the flight has taken its slot: leaving no
	// longer abandons it.
	started bool
	// gone is set when the callers is no longer in Exchanger.pending: its
	// flight has finished or has been abandoned.
	gone bool
	// abandoned is closed when the last caller leaves before the flight
	// has started.
	abandoned chan struct{}
	// ft is the trace of the flight these callers wait for: their own, or
	// the background refresh they joined.
	ft *flightTrace
}

// join registers the calling request as waiting for key, then joins the
// flight in progress for key or starts one. cs is what the previous call
// returned, nil on the first: a caller stays counted once however many
// times it tries. The returned callers must be passed to leaveLocked. join
// also returns the trace of the flight joined, and whether that flight
// was started by another request or by a background refresh (coalesced).
func (x *Exchanger) join(key Key, cs *callers, subject, actor string, p *Prepared) (*callers, *flightTrace, bool, <-chan singleflight.Result) {
	x.mu.Lock()
	defer x.mu.Unlock()
	cur := x.pending[key]
	coalesced := false
	if cs == nil || cs != cur {
		if cs != nil {
			x.leaveLocked(key, cs)
		}
		if cur == nil {
			cur = &callers{abandoned: make(chan struct{})}
			// A refresh in flight for key is joined by the DoChan below.
			// (One that has called DoChan but not yet registered itself
			// is joined all the same, and the caller counted as a miss.)
			if ft := x.refreshing[key]; ft != nil {
				cur.ft, coalesced = ft, true
			} else {
				cur.ft = &flightTrace{}
			}
			x.pending[key] = cur
		} else {
			coalesced = cs == nil
		}
		cur.n++
		cs = cur
	}
	// Starting the flight under mu makes the callers it watches exactly
	// those counted in cs: a caller who finds cs in pending joins this
	// flight, as cs leaves pending only when it finishes or is abandoned.
	ch := x.flights.DoChan(string(key[:]), func() (any, error) {
		defer x.finish(key, cs)
		tok, shared, err := x.flight(key, cs, subject, actor, p)
		return flightResult{tok: tok, shared: shared}, err
	})
	return cs, cs.ft, coalesced, ch
}

// leaveLocked unregisters a caller that join registered in cs. Called
// with x.mu held.
func (x *Exchanger) leaveLocked(key Key, cs *callers) {
	cs.n--
	if cs.n > 0 || cs.gone {
		return
	}
	cs.gone = true
	delete(x.pending, key)
	if !cs.started {
		close(cs.abandoned)
	}
}

// finish removes cs from pending when its flight returns, so that later
// callers count towards the next flight.
func (x *Exchanger) finish(key Key, cs *callers) {
	x.mu.Lock()
	if !cs.gone {
		cs.gone = true
		delete(x.pending, key)
	}
	x.mu.Unlock()
}

// flight makes the one request to the authority for key and caches the
// result; every caller waiting on the key receives its result. It runs
// detached from its callers: on a context of its own (canceled only by
// Close), so that no caller's
// context values (its subject token, trace spans) reach the authority's
// HTTP client on behalf of the others. It waits for a free slot for at
// most FlightTimeout (failing at once with ErrBusy when too many flights
// wait already), or until all its callers have left; then the exchange
// has FlightTimeout of its own.
//
// The flight is a root span (its callers are many, each with a trace of
// its own) linked to the spans of its callers, and the context of its
// request to the authority carries it.
func (x *Exchanger) flight(key Key, cs *callers, subject, actor string, p *Prepared) (tok *authority.Token, shared bool, err error) {
	if !x.life.track() {
		return nil, false, ErrClosed
	}
	defer x.life.work.Done()
	x.mu.Lock()
	if cs.ft.span != nil {
		// cs joined a refresh that has ended; this flight is another.
		cs.ft = &flightTrace{}
	}
	ft := cs.ft
	x.mu.Unlock()
	sctx := x.startFlightSpan(ft, p, false, trace.SpanContext{})
	span := trace.SpanFromContext(sctx)
	defer func() { endSpan(span, err) }()
	// A flight that finished just before this one started may have filled
	// the cache.
	lctx, cancel := x.detached()
	e := x.lookup(lctx, key)
	cancel()
	if e != nil && x.opts.Now().Before(e.Expires) {
		return e.Token, false, nil
	}
	if x.shared != nil {
		if e := x.fromFleet(span, key); e != nil {
			return e.Token, true, nil
		}
		if x.coord != nil {
			unlock, lost := x.lockShared(key)
			if unlock != nil {
				defer unlock()
				// The previous holder may have stored it between the
				// lookup above and the lock.
				if e := x.fromFleet(span, key); e != nil {
					return e.Token, true, nil
				}
			} else if lost {
				span.AddEvent(eventLockLost)
				if e := x.waitShared(key, cs); e != nil {
					x.adopt(key, e)
					return e.Token, true, nil
				}
				span.AddEvent(eventWaitTimedOut)
			}
		}
	}
	if err := x.acquire(cs); err != nil {
		return nil, false, err
	}
	defer func() { <-x.slots }()
	ctx, cancel := context.WithTimeout(sctx, x.opts.FlightTimeout)
	defer cancel()
	tok, _, err = x.exchange(ctx, key, subject, actor, p, false)
	return tok, false, err
}

// fromFleet returns the entry the shared tier holds for key, stored in
// the first tier, or nil: the flight's shared hit.
func (x *Exchanger) fromFleet(span trace.Span, key Key) *Entry {
	e := x.sharedLookup(key)
	if e == nil {
		return nil
	}
	span.AddEvent(eventSharedHit)
	x.adopt(key, e)
	return e
}

// detached returns the context of a cache call made for no one caller (by
// a flight or a refresh): it carries no caller's values, ends at Close,
// and lasts at most FlightTimeout.
func (x *Exchanger) detached() (context.Context, context.CancelFunc) {
	return context.WithTimeout(x.life.base, x.opts.FlightTimeout)
}

// acquire takes a slot for the flight of cs and marks it started.
func (x *Exchanger) acquire(cs *callers) error {
	select {
	case x.slots <- struct{}{}:
	default:
		if x.waiting.Add(1) > int64(maxWaitingFactor*x.opts.MaxInFlight) {
			x.waiting.Add(-1)
			x.stats.errors.Add(1)
			x.stats.busy.Add(1)
			x.logBusy()
			return ErrBusy
		}
		t := time.NewTimer(x.opts.FlightTimeout)
		select {
		case x.slots <- struct{}{}:
			t.Stop()
			x.waiting.Add(-1)
		case <-t.C:
			x.waiting.Add(-1)
			x.stats.errors.Add(1)
			x.stats.slotTimeouts.Add(1)
			return fmt.Errorf("exchange: waiting for a free exchange slot: %w", context.DeadlineExceeded)
		case <-cs.abandoned:
			t.Stop()
			x.waiting.Add(-1)
			return errAbandoned
		case <-x.life.base.Done():
			t.Stop()
			x.waiting.Add(-1)
			return ErrClosed
		}
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	select {
	case <-cs.abandoned: // the last caller left as the slot came free
		<-x.slots
		return errAbandoned
	default:
		cs.started = true
		return nil
	}
}

// exchange asks the authority, holding a slot, and caches the token it
// issues; cached reports whether the cache now holds it. A permanent
// refusal is remembered in the negative cache. A token issued with no
// lifetime ([authority.Token.ZeroLifetime]) is returned but never cached;
// one whose lifetime ran out before its reply was read is an error. A
// failure of the cache's Set is counted, and the token returned anyway.
//
// ctx carries the span of the flight or refresh (refresh true), and the
// exchange's duration is recorded.
func (x *Exchanger) exchange(ctx context.Context, key Key, subject, actor string, p *Prepared, refresh bool) (tok *authority.Token, cached bool, err error) {
	x.stats.exchanges.Add(1)
	start := time.Now()
	tok, err = p.send(ctx, x.client, subject, actor)
	if err == nil && tok == nil {
		err = errors.New("authority returned no token")
	}
	x.recordExchange(ctx, p, refresh, start, err)
	if err != nil {
		x.stats.errors.Add(1)
		if x.life.base.Err() != nil {
			return nil, false, fmt.Errorf("%w: %w", ErrClosed, err)
		}
		if x.negative != nil && authority.IsPermanent(err) {
			x.negative.Set(key, err)
		}
		return nil, false, fmt.Errorf("exchange: %w", err)
	}
	if tok.ZeroLifetime() {
		// Issued with no lifetime (expires_in under a second): for the
		// callers of this flight only, never cached.
		return tok, false, nil
	}
	// A positive lifetime that ran out before the reply was read: never
	// served.
	now := x.opts.Now()
	e, ok := x.newEntry(now, tok, subject)
	if !ok || tok.Expired(now) {
		x.stats.errors.Add(1)
		return nil, false, errors.New("exchange: the authority issued an expired token")
	}
	if ttl := e.Expires.Sub(now); ttl > 0 {
		if x.shared != nil {
			// First, so that replicas waiting for it have it soonest.
			x.storeShared(key, e, ttl)
		}
		// The flight's context may be nearly spent: the Set gets its own.
		sctx, cancel := x.detached()
		cached = x.store(sctx, key, e, ttl)
		cancel()
	}
	return tok, cached, nil
}

// refresh starts a background exchange for key, whose cached entry is old,
// unless one is already in flight or no slot is free (then a hit tries
// again after refreshRetry). The hit that called it does not wait. If the
// refresh fails the old entry keeps being served until it expires, unless
// the authority refused permanently: then the entry is removed, so that
// the next request gets the refusal. Like a flight, it runs on a context of
// its own (canceled only by Close), not on the context of the hit that
// started it; its root span is linked to from, the span of that hit.
//
// When a miss's flight for the same key is in progress, the refresh joins
// it instead (so does nothing); if that flight is then abandoned, this
// refresh is lost and the next hit after refreshRetry tries again.
func (x *Exchanger) refresh(from trace.SpanContext, key Key, old *Entry, subject, actor string, p *Prepared) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.pending[key] != nil {
		return
	}
	// The result channel is buffered: nobody needs to read it.
	x.flights.DoChan(string(key[:]), func() (any, error) {
		tok, adopted, err := x.runRefresh(from, key, old, subject, actor, p)
		return flightResult{tok: tok, shared: adopted}, err
	})
}

// runRefresh is the flight of a refresh.
func (x *Exchanger) runRefresh(from trace.SpanContext, key Key, old *Entry, subject, actor string, p *Prepared) (tok *authority.Token, adopted bool, err error) {
	if !x.life.track() {
		return nil, false, ErrClosed
	}
	defer x.life.work.Done()
	ft := &flightTrace{}
	x.mu.Lock()
	x.refreshing[key] = ft
	x.mu.Unlock()
	defer func() {
		x.mu.Lock()
		if x.refreshing[key] == ft {
			delete(x.refreshing, key)
		}
		x.mu.Unlock()
	}()
	var span trace.Span // once the refresh has its slot
	defer func() {
		if span != nil {
			endSpan(span, err)
		}
	}()
	lctx, cancel := x.detached()
	cur := x.lookup(lctx, key)
	cancel()
	if cur != nil && cur.Token.AccessToken != old.Token.AccessToken && x.opts.Now().Before(cur.Expires) {
		// A refresh that ended between the hit's lookup and its claim
		// already replaced the entry.
		return cur.Token, false, nil
	}
	if x.shared != nil {
		// Another replica may have refreshed it: adopt its token.
		if tok := x.adoptRefreshed(key, old); tok != nil {
			return tok, true, nil
		}
		if x.coord != nil {
			unlock, lost := x.lockShared(key)
			if lost {
				// Another replica refreshes it: keep serving the current
				// entry, and adopt its token at a hit after refreshRetry.
				x.stats.refreshSkipped.Add(1)
				return nil, false, errRefreshSkipped
			}
			if unlock != nil {
				defer unlock()
				// The previous holder may have stored it meanwhile.
				if tok := x.adoptRefreshed(key, old); tok != nil {
					return tok, true, nil
				}
			}
		}
	}
	select {
	case x.slots <- struct{}{}:
	default:
		x.stats.refreshSkipped.Add(1)
		return nil, false, errRefreshSkipped
	}
	defer func() { <-x.slots }()
	x.stats.refreshes.Add(1)
	sctx := x.startFlightSpan(ft, p, true, from)
	span = trace.SpanFromContext(sctx)
	ctx, cancel := context.WithTimeout(sctx, x.opts.FlightTimeout)
	defer cancel()
	tok, cached, err := x.exchange(ctx, key, subject, actor, p, true)
	if err != nil {
		if authority.IsPermanent(err) {
			dctx, cancel := x.detached()
			x.compareAndDelete(dctx, key, holds(old.Token))
			if x.shared != nil {
				x.sharedCompareAndDelete(dctx, key, holds(old.Token))
			}
			cancel()
		}
		// The refresh has failed: a request that misses from now on
		// starts a flight of its own rather than join this one and be
		// given its error (its callers still get it).
		x.flights.Forget(string(key[:]))
		x.stats.refreshFailures.Add(1)
		x.logRefresh(p, err)
		return nil, false, err
	}
	if !cached {
		// Nothing was cached (a token with no lifetime, or a Set that
		// failed), so the old entry stays: keep the claim, so that hits
		// wait refreshRetry before asking again, as after a failure.
		x.stats.refreshFailures.Add(1)
		return tok, false, nil
	}
	x.claims.Invalidate(key)
	x.stats.refreshSuccesses.Add(1)
	x.logRefresh(p, nil)
	return tok, false, nil
}

// adoptRefreshed takes into the first tier the token the shared tier
// holds for key when it is valid and not old's (another replica refreshed
// it), and returns it; nil when there is none.
func (x *Exchanger) adoptRefreshed(key Key, old *Entry) *authority.Token {
	e := x.sharedLookup(key)
	if e == nil || e.Token.AccessToken == old.Token.AccessToken || !x.adopt(key, e) {
		return nil
	}
	x.claims.Invalidate(key)
	x.stats.refreshAdopted.Add(1)
	return e.Token
}
