package exchange

import (
	"context"
	"errors"
	"time"

	"github.com/go-tokenexchange/tokenexchange/authority"
)

// ErrCacheMiss is what [Cache.Get] returns when the cache holds no entry
// for the key, as in golang.org/x/crypto/acme/autocert. It may be wrapped.
var ErrCacheMiss = errors.New("exchange: cache miss")

// Cache stores issued tokens by [Key]. It never sees a subject token. An
// implementation must be safe for concurrent use; a shared store (Redis,
// memcached) can implement it to share tokens between instances, storing
// [Entry.MarshalBinary]'s bytes. [MemoryCache] is the in-memory one.
//
// The Exchanger treats every error of a Cache (other than [ErrCacheMiss])
// as a miss: the request goes to the authority as if nothing were cached,
// and the failure is counted in [Stats.CacheErrors]; a failed Set or
// Delete is counted and otherwise ignored. A cache error never fails a
// request and is never taken for a refusal.
//
// The context of a call is the caller's for a lookup made for a request
// (and for [Exchanger.Invalidate]); a call made by a shared exchange or a
// background refresh gets a context of its own, which carries none of the
// callers' values, ends when [Exchanger.Close] is called, and lasts at
// most [Options.FlightTimeout]. A store that goes over a network should
// honour it.
//
// The Exchanger checks [Entry.Expires] itself and never serves an expired
// entry, so a store may keep entries a little longer than their TTL. It
// keeps no state of its own in an Entry, so Get may return a copy of what
// Set stored (as a store that serialises entries does). The Exchanger
// never closes a Cache given in [Options.Cache]: whoever made it closes it
// (a Cache may have a Close method; it is not part of this interface).
//
// A Cache should also implement [CompareAndDeleter]; without it,
// [Exchanger.Invalidate] and a refresh that the authority refuses fall
// back to Get, compare, Delete, which may remove a token stored by a
// refresh between the Get and the Delete (the next request then makes one
// more exchange; no wrong token is ever served).
type Cache interface {
	// Get returns the entry stored for key, or an error wrapping
	// [ErrCacheMiss] when there is none (any other error is a failure of
	// the cache). The Exchanger does not modify the entry or its token.
	Get(ctx context.Context, key Key) (*Entry, error)
	// Set stores e for key for at most ttl (always positive when the
	// Exchanger calls it), replacing any entry it had. The Exchanger does
	// not modify e afterwards.
	Set(ctx context.Context, key Key, e *Entry, ttl time.Duration) error
	// Delete removes the entry for key, if any; removing an absent entry
	// is not an error.
	Delete(ctx context.Context, key Key) error
}

// CompareAndDeleter is an optional interface of a [Cache]: an atomic
// removal of an entry that still is the one the caller saw. [MemoryCache]
// implements it.
type CompareAndDeleter interface {
	// CompareAndDelete removes the entry for key if there is one and match
	// reports true for it, as one atomic step with respect to Set and
	// Delete of the same key, and reports whether it removed an entry. No
	// entry is not an error: (false, nil). match must not call the cache.
	// On an error the Exchanger takes nothing for removed.
	CompareAndDelete(ctx context.Context, key Key, match func(*Entry) bool) (bool, error)
}

// Entry is one cached exchange result. The Exchanger never modifies an
// Entry once it has passed it to [Cache.Set].
//
// A store that keeps bytes encodes an Entry with [Entry.MarshalBinary] and
// decodes it with [Entry.UnmarshalBinary], which round-trip exactly.
// encoding/json is no way to store one: an Entry's JSON redacts its
// tokens (see [authority.Token.MarshalJSON]), so a JSON round trip loses
// them.
type Entry struct {
	// Token is the issued token. Never nil.
	Token *authority.Token
	// Expires is when the entry stops being served: the earlier of the
	// issued token's end (Token.Expiry, or its JWT "exp" if earlier) and
	// the subject token's "exp", each minus min(skew, that token's
	// remaining life/4).
	Expires time.Time
	// RefreshAt is when a hit starts a background exchange for a new token;
	// zero for never (as when the subject token's "exp" ends the entry: a
	// new token would end no later).
	RefreshAt time.Time
}

// entryOverhead estimates the memory of an entry beyond its strings: the
// Entry, the authority.Token, the string headers and a cache node.
const entryOverhead = 256

// Size estimates the bytes the entry occupies in memory.
func (e *Entry) Size() int {
	t := e.Token
	if t == nil {
		return entryOverhead
	}
	return entryOverhead + len(t.AccessToken) + len(t.RefreshToken) + len(t.TokenType) +
		len(t.IssuedTokenType) + len(t.Scope)
}

// lookup returns the entry cached for key, or nil for a miss. A failure
// of the cache, or an answer that breaks the contract of Get (no entry and
// no error, an entry without a token), is counted and taken for a miss.
func (x *Exchanger) lookup(ctx context.Context, key Key) *Entry {
	e, err := x.cache.Get(ctx, key)
	if err != nil {
		if err != ErrCacheMiss && !errors.Is(err, ErrCacheMiss) {
			x.stats.cacheErrors.Add(1)
		}
		return nil
	}
	if e == nil || e.Token == nil {
		x.stats.cacheErrors.Add(1)
		return nil
	}
	return e
}

// store caches e for key for ttl. It reports whether it did: a failure of
// the cache is counted and otherwise ignored.
func (x *Exchanger) store(ctx context.Context, key Key, e *Entry, ttl time.Duration) bool {
	if err := x.cache.Set(ctx, key, e, ttl); err != nil {
		x.stats.cacheErrors.Add(1)
		return false
	}
	return true
}

// compareAndDelete removes the entry for key if match holds for it:
// atomically when the cache is a [CompareAndDeleter], otherwise by Get,
// compare, Delete. It reports whether it removed an entry; a failure of
// the cache is counted and removes nothing.
func (x *Exchanger) compareAndDelete(ctx context.Context, key Key, match func(*Entry) bool) bool {
	if cd, ok := x.cache.(CompareAndDeleter); ok {
		removed, err := cd.CompareAndDelete(ctx, key, match)
		if err != nil {
			x.stats.cacheErrors.Add(1)
			return false
		}
		return removed
	}
	e := x.lookup(ctx, key)
	if e == nil || !match(e) {
		return false
	}
	if err := x.cache.Delete(ctx, key); err != nil {
		x.stats.cacheErrors.Add(1)
		return false
	}
	return true
}

// holds returns a match for an entry holding the same access token as tok;
// a nil tok matches any entry.
func holds(tok *authority.Token) func(*Entry) bool {
	return func(e *Entry) bool {
		return tok == nil || (e.Token != nil && e.Token.AccessToken == tok.AccessToken)
	}
}
