package exchange

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/maypok86/otter/v2"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/singleflight"

	"github.com/go-tokenexchange/tokenexchange/authority"
)

// Exchanger exchanges subject tokens for tokens issued for a [Target],
// caching the results and making one call to the authority for concurrent
// identical requests. It is safe for concurrent use. Create it with [New].
type Exchanger struct {
	client   *authority.Client
	opts     Options
	identity [32]byte // digest of client.Identity()
	cache    Cache
	// shared is Options.Shared, the fleet's tier (nil for none); coord is
	// it as a Coordinator (nil when it is not one).
	shared Cache
	coord  Coordinator
	// unsubscribe ends the subscription to the fleet's invalidations;
	// nil when there is none.
	unsubscribe func()
	negative    *otter.Cache[Key, error] // nil when the negative cache is off
	flights     singleflight.Group       // keyed by string(Key[:])
	// slots holds one element per exchange in progress (MaxInFlight).
	slots chan struct{}
	// waiting counts the flights waiting for a slot (at most
	// maxWaitingFactor*MaxInFlight).
	waiting atomic.Int64
	// mu guards pending: the callers waiting for the flight of each key
	// whose flight has not finished (see join).
	mu      sync.Mutex
	pending map[Key]*callers
	// refreshing holds, under mu, the trace of each background refresh
	// running, so that a miss that joins it is counted as coalesced and
	// its span linked to the refresh's.
	refreshing map[Key]*flightTrace
	// claims holds the keys whose refresh a hit has claimed in the last
	// refreshRetry, so that one hit starts it and a failed or skipped
	// refresh is retried no sooner than refreshRetry later. It lives here,
	// not in the Entry, because a shared Cache may return copies.
	claims *otter.Cache[Key, struct{}]
	stats  counters
	tel    telemetry
	// refreshFailing is set when a background refresh fails and cleared
	// by the next that succeeds, which logs the recovery.
	refreshFailing atomic.Bool
	// own is the cache New made when Options.Cache was nil, closed by
	// Close; nil for a Cache the user gave.
	own *MemoryCache
	// life ends the background work at Close.
	life lifecycle
}

// ErrSubjectExpired is returned, without asking the authority, when the
// subject token has expired (it is a JWT whose "exp" is at or before now)
// and no token for it is cached; a gateway answers 401 invalid_token.
var ErrSubjectExpired = errors.New("exchange: the subject token has expired")

// ErrSubjectInvalid is returned, without asking the authority, when the
// subject token is a JWT whose "exp" is present but not a NumericDate (RFC
// 7519 §2: a JSON number), such as a string of digits, and no token for it
// is cached. The inbound validator (package middleware) refuses such a
// token too; a gateway answers 401 invalid_token.
var ErrSubjectInvalid = errors.New("exchange: invalid subject token")

// errRefreshSkipped is the result of a refresh that found no free slot. A
// caller that joined it starts a flight of its own.
var errRefreshSkipped = errors.New("exchange: refresh skipped: no free slot")

// New returns an Exchanger that obtains tokens from client. It makes no
// request. Call [Exchanger.Close] when done with it.
//
// New returns an error (no sentinel: each is a mistake in the program, its
// message names it) for a nil client or invalid opts: RefreshAhead or
// RefreshJitter of 1 or more, a negative MaxInFlight, MaxEntries or
// MaxBytes, or bounds the default [MemoryCache] refuses (see
// [NewMemoryCache]).
func New(client *authority.Client, opts Options) (*Exchanger, error) {
	if client == nil {
		return nil, errors.New("exchange: New needs an authority.Client")
	}
	// With no clock given, otter keeps its own (with periodic clean-ups).
	userNow := opts.Now
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	x := &Exchanger{
		client:     client,
		opts:       opts,
		identity:   identityDigest(client.Identity()),
		cache:      opts.Cache,
		shared:     opts.Shared,
		slots:      make(chan struct{}, opts.MaxInFlight),
		pending:    make(map[Key]*callers),
		refreshing: make(map[Key]*flightTrace),
	}
	x.life.init()
	if x.cache == nil {
		mc, err := NewMemoryCache(MemoryOptions{MaxEntries: opts.MaxEntries, MaxBytes: opts.MaxBytes, Now: userNow})
		if err != nil {
			return nil, err
		}
		x.cache, x.own = mc, mc
	}
	co := &otter.Options[Key, struct{}]{
		MaximumSize:      refreshClaimsMax,
		ExpiryCalculator: otter.ExpiryWriting[Key, struct{}](refreshRetry),
	}
	if userNow != nil {
		co.Clock = clock{userNow}
	}
	if x.claims, err = otter.New(co); err != nil {
		x.closeCaches()
		return nil, fmt.Errorf("exchange: refresh claims: %w", err)
	}
	if opts.NegativeTTL > 0 {
		no := &otter.Options[Key, error]{
			MaximumSize:      DefaultNegativeMaxEntries,
			ExpiryCalculator: otter.ExpiryCreating[Key, error](opts.NegativeTTL),
		}
		if userNow != nil {
			no.Clock = clock{userNow}
		}
		if x.negative, err = otter.New(no); err != nil {
			x.closeCaches()
			return nil, fmt.Errorf("exchange: negative cache: %w", err)
		}
	}
	if c, ok := opts.Shared.(Coordinator); ok {
		x.coord = c
	}
	x.initTelemetry(opts)
	x.subscribe()
	return x, nil
}

// Exchange returns a token for target on behalf of the holder of
// subject, from the cache when it holds a valid one, otherwise from
// the authority. Concurrent calls with the same key share one request to
// the authority; if ctx ends first, Exchange returns its error at once and
// the request goes on for the others. After [Exchanger.Close] it returns
// [ErrClosed].
//
// A subject token close to its "exp" is exchanged, and its entry cached
// for a shorter time (see [Options.Skew]). The returned Token is shared
// with the cache and other callers: it must not be modified. A failure of
// the [Cache] is never returned: it is a miss (see [Stats.CacheErrors]).
//
// Errors, none of which contains a token (test with [errors.Is] and
// [errors.As]; the status is what a gateway answers its caller):
//   - [ErrSubjectExpired] (401): the subject token is a JWT whose "exp"
//     has passed, and no token for it is cached;
//   - [ErrSubjectInvalid] (401): its "exp" is not a NumericDate (a JSON
//     number, RFC 7519 §2), and no token for it is cached;
//   - *[authority.Error] (wrapped, with its sentinels such as
//     [authority.ErrInvalidGrant]; [authority.IsTemporary] and
//     [authority.IsPermanent] classify it): the authority refused or
//     failed, or could not be reached. A permanent refusal remembered
//     from a recent exchange ([Options.NegativeTTL]) is returned again,
//     wrapped with "refused recently";
//   - [ErrBusy] (503): too many exchanges wait for a slot
//     ([Options.MaxInFlight]); [context.DeadlineExceeded] (wrapped, 503):
//     the exchange found no free slot, or no answer, within
//     [Options.FlightTimeout];
//   - ctx's error, [context.Canceled] or [context.DeadlineExceeded]
//     (wrapped): ctx ended before the token came;
//   - [ErrClosed] (503): [Exchanger.Close] was called, before or during
//     the exchange;
//   - the error of the target's [authority.TokenSource] (Target.Actor),
//     wrapped, or an error when it returns no token;
//   - an error for an empty subject token, a nil or invalid target (see
//     [Target.Prepare]), or a token the authority issued already expired
//     (no sentinel).
//
// Exchange prepares target on every call; a caller that uses the same
// target for many requests should [Target.Prepare] it once and call
// [Exchanger.ExchangePrepared].
func (x *Exchanger) Exchange(ctx context.Context, subject authority.SubjectToken, target Target) (*authority.Token, error) {
	p, err := target.Prepare()
	if err != nil {
		return nil, err
	}
	return x.ExchangePrepared(ctx, subject, p)
}

// ExchangePrepared is [Exchanger.Exchange] with a prepared target, and
// the same errors.
func (x *Exchanger) ExchangePrepared(ctx context.Context, subject authority.SubjectToken, p *Prepared) (*authority.Token, error) {
	if x.life.closed.Load() {
		return nil, ErrClosed
	}
	subjectToken := subject.Value()
	if subjectToken == "" {
		return nil, errors.New("exchange: empty subject token")
	}
	if p == nil {
		return nil, errors.New("exchange: nil target")
	}
	actor, actorSum, err := p.actorToken(ctx)
	if err != nil {
		return nil, err
	}
	sum := subject.Digest() // computed once per request, whoever asks first
	key := makeKey(&sum, &p.digest, &x.identity, actorSum)
	if e := x.lookup(ctx, key); e != nil {
		now := x.opts.Now()
		if now.Before(e.Expires) {
			if e.RefreshAt.IsZero() || now.Before(e.RefreshAt) {
				x.stats.hits.add()
				recordLookup(ctx, LookupHit)
				return e.Token, nil
			}
			x.stats.refreshAheadHits.add()
			recordLookup(ctx, LookupRefreshAhead)
			if x.claimRefresh(key) {
				x.refresh(trace.SpanContextFromContext(ctx), key, e, subjectToken, actor, p)
			}
			return e.Token, nil
		}
	}
	if err := checkSubject(x.opts.Now(), subjectToken); err != nil {
		return nil, err
	}
	if x.negative != nil {
		if err, ok := x.negative.GetIfPresent(key); ok {
			x.stats.negativeHits.Add(1)
			recordLookup(ctx, LookupNegativeHit)
			return nil, fmt.Errorf("exchange: refused recently: %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("exchange: %w", err)
	}
	return x.wait(ctx, key, subjectToken, actor, p)
}

// wait joins or starts the flight for key and waits for its result or for
// the end of ctx, whichever comes first. Once it has joined, it starts the
// caller's span (a child of ctx's), linked to and from the flight's.
func (x *Exchanger) wait(ctx context.Context, key Key, subjectToken, actor string, p *Prepared) (tok *authority.Token, err error) {
	var (
		cs          *callers
		ft          *flightTrace // the trace of the flight joined
		linked      *flightTrace // the flight whose span the caller's links to
		span        trace.Span
		joinedOther bool // the caller first joined a flight it did not start
		shared      bool // the token came from the shared tier
	)
	defer func() {
		x.stats.countWaited(joinedOther, shared)
		x.mu.Lock()
		x.leaveLocked(key, cs)
		var sc trace.SpanContext
		if ft != linked {
			sc = ft.spanContext()
		}
		x.mu.Unlock()
		if sc.IsValid() {
			span.AddLink(trace.Link{SpanContext: sc})
		}
		endSpan(span, err)
	}()
	for {
		var (
			ch        <-chan singleflight.Result
			joined    *flightTrace
			coalesced bool
		)
		first := cs == nil
		cs, joined, coalesced, ch = x.join(key, cs, subjectToken, actor, p)
		if first {
			joinedOther = coalesced
			if coalesced {
				x.stats.coalesced.Add(1)
				recordLookup(ctx, LookupCoalesced)
			} else {
				x.stats.misses.Add(1)
				recordLookup(ctx, LookupMiss)
			}
			span = x.startWaitSpan(ctx, p, coalesced)
		}
		if joined != ft {
			ft = joined
			if span.IsRecording() {
				x.mu.Lock()
				fsc := ft.addWaiter(span.SpanContext())
				x.mu.Unlock()
				if fsc.IsValid() {
					span.AddLink(trace.Link{SpanContext: fsc})
					linked = ft
				}
			}
		}
		select {
		case r := <-ch:
			if errors.Is(r.Err, errRefreshSkipped) || errors.Is(r.Err, errAbandoned) {
				// Joined a refresh that did not start, or a flight whose
				// callers had all left: start a flight, unless this
				// caller has left too.
				if err := ctx.Err(); err != nil {
					x.stats.canceled.Add(1)
					return nil, fmt.Errorf("exchange: waiting for the authority: %w", err)
				}
				continue
			}
			if r.Err != nil {
				return nil, r.Err
			}
			res := r.Val.(flightResult)
			if res.shared {
				shared = true
				recordLookup(ctx, LookupSharedHit)
			}
			return res.tok, nil
		case <-ctx.Done():
			x.stats.canceled.Add(1)
			return nil, fmt.Errorf("exchange: waiting for the authority: %w", ctx.Err())
		}
	}
}

// startWaitSpan starts the span of a caller waiting for a flight, as a
// child of ctx's span.
func (x *Exchanger) startWaitSpan(ctx context.Context, p *Prepared, coalesced bool) trace.Span {
	kv := []attribute.KeyValue{attrCoalesced.Bool(coalesced)}
	if p.name != "" {
		kv = append(kv, attrTarget.String(p.name))
	}
	_, span := x.tel.tracer.Start(ctx, spanWait, trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(kv...))
	return span
}

// claimRefresh reports whether the caller, a hit on an entry due for
// refresh, should start the refresh: exactly one of concurrent callers
// wins, and then no other for refreshRetry (or until the refresh
// succeeds).
func (x *Exchanger) claimRefresh(key Key) bool {
	if _, ok := x.claims.GetIfPresent(key); ok {
		return false
	}
	won := false
	x.claims.Compute(key, func(_ struct{}, found bool) (struct{}, otter.ComputeOp) {
		if found {
			return struct{}{}, otter.CancelOp
		}
		won = true
		return struct{}{}, otter.WriteOp
	})
	return won
}

// Invalidate removes the cached token for subject and target, for
// when a downstream service refused it. When refused is not nil, the entry
// is removed only while it still holds that token, so that a token another
// request has already renewed is not thrown away; a nil refused removes
// whatever is cached. It reports whether an entry was removed. With an
// actor, the key uses the actor token of the target's latest exchange (see
// [Exchanger.InvalidatePrepared]).
//
// The comparison and the removal are one atomic step when the Cache is a
// [CompareAndDeleter] (as [MemoryCache] is); otherwise a token stored by a
// concurrent refresh between them may be removed too. ctx is passed to the
// Cache. Invalidate returns no error: an invalid target, an empty subject
// or a failure of the Cache (counted in [Stats.CacheErrors]) removes
// nothing and reports false.
//
// With [Options.Shared], the entry is also removed from the shared tier
// when it holds the refused token, and when Shared is a [Coordinator] the
// invalidation is published to every replica (by the token's
// [Fingerprint], never the token), each of which removes its in-process
// entry if it holds that token. Invalidate reports whether either tier
// removed an entry; failures of the shared tier are counted in
// [Stats.SharedErrors].
func (x *Exchanger) Invalidate(ctx context.Context, subject authority.SubjectToken, target Target, refused *authority.Token) bool {
	p, err := target.Prepare()
	if err != nil {
		return false
	}
	return x.InvalidatePrepared(ctx, subject, p, refused)
}

// InvalidatePrepared is [Exchanger.Invalidate] with a prepared target.
// With an actor, the key uses the actor token of p's latest exchange; if p
// has made none, nothing can be cached for it and InvalidatePrepared
// returns false without asking the actor's TokenSource.
func (x *Exchanger) InvalidatePrepared(ctx context.Context, subject authority.SubjectToken, p *Prepared, refused *authority.Token) bool {
	if subject.IsZero() || p == nil {
		return false
	}
	var actorSum *[32]byte
	if p.actor != nil {
		last := p.lastActor.Load()
		if last == nil {
			return false
		}
		actorSum = &last.sum
	}
	sum := subject.Digest()
	key := makeKey(&sum, &p.digest, &x.identity, actorSum)
	removed := x.compareAndDelete(ctx, key, holds(refused))
	if x.shared != nil && x.invalidateShared(ctx, key, refused) {
		removed = true
	}
	return removed
}
