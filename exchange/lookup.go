package exchange

import (
	"context"
	"sync/atomic"
)

// Lookup is how a request to an [Exchanger] found its token.
type Lookup uint32

// Lookup results.
const (
	// LookupNone: no exchange was asked for, or it failed before the
	// cache was consulted (an empty subject token, a closed Exchanger),
	// or after a miss but before waiting for an exchange (an expired
	// subject token, a context already ended).
	LookupNone Lookup = iota
	// LookupHit: a cached token was served.
	LookupHit
	// LookupRefreshAhead: a cached token was served, and the entry was
	// old enough to be refreshed in the background.
	LookupRefreshAhead
	// LookupNegativeHit: the refusal remembered for the key was returned
	// ([Options.NegativeTTL]).
	LookupNegativeHit
	// LookupMiss: the request started an exchange with the authority and
	// waited for it.
	LookupMiss
	// LookupCoalesced: the request waited for an exchange another
	// request had started for the same key.
	LookupCoalesced
	// LookupSharedHit: the request missed in the in-process cache and
	// waited for a flight (its own or another request's) that found the
	// token in the shared tier ([Options.Shared]), or that waited for
	// the replica exchanging it. It replaces LookupMiss or
	// LookupCoalesced, recorded when the request joined the flight, once
	// the token arrives.
	LookupSharedHit
)

// String returns the name used in metrics and logs: "hit",
// "refresh_ahead", "negative_hit", "miss", "coalesced", "shared_hit", or
// "none".
func (l Lookup) String() string {
	switch l {
	case LookupHit:
		return "hit"
	case LookupRefreshAhead:
		return "refresh_ahead"
	case LookupNegativeHit:
		return "negative_hit"
	case LookupMiss:
		return "miss"
	case LookupCoalesced:
		return "coalesced"
	case LookupSharedHit:
		return "shared_hit"
	}
	return "none"
}

// LookupRecorder records how the exchanges made with a context carrying it
// ([ContextWithLookupRecorder]) found their tokens, for an access log
// line. It is safe for concurrent use; its zero value is ready.
type LookupRecorder struct {
	last atomic.Uint32
}

// Last returns the result of the latest exchange recorded, or
// [LookupNone].
func (r *LookupRecorder) Last() Lookup { return Lookup(r.last.Load()) }

func (r *LookupRecorder) record(l Lookup) { r.last.Store(uint32(l)) }

type lookupRecorderKey struct{}

// ContextWithLookupRecorder returns a copy of ctx that carries r: every
// [Exchanger.Exchange] and [Exchanger.ExchangePrepared] made with it (or
// a context derived from it) records its [Lookup] in r.
func ContextWithLookupRecorder(ctx context.Context, r *LookupRecorder) context.Context {
	return context.WithValue(ctx, lookupRecorderKey{}, r)
}

// recordLookup records l in the LookupRecorder ctx carries, if any.
func recordLookup(ctx context.Context, l Lookup) {
	if r, ok := ctx.Value(lookupRecorderKey{}).(*LookupRecorder); ok {
		r.record(l)
	}
}
