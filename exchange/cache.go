package exchange

import (
	"time"

	"github.com/go-tokenexchange/tokenexchange/authority"
)

// Cache stores issued tokens by [Key]. It never sees a subject token. An
// implementation must be safe for concurrent use; a shared store (Redis,
// memcached) can implement it to share tokens between instances.
//
// The Exchanger checks [Entry.Expires] itself and never serves an expired
// entry, so a store may keep entries a little longer than their TTL. It
// keeps no state of its own in an Entry, so Get may return a copy of what
// Set stored (as a store that serialises entries does).
//
// A Cache should also implement [CompareAndDeleter]; without it,
// [Exchanger.Invalidate] and a refresh that the authority refuses fall
// back to Get, compare, Delete, which may remove a token stored by a
// refresh between the Get and the Delete (the next request then makes one
// more exchange; no wrong token is ever served).
type Cache interface {
	// Get returns the entry stored for key, if any. The Exchanger does not
	// modify the entry or its token.
	Get(key Key) (*Entry, bool)
	// Set stores e for key for at most ttl (always positive), replacing any
	// entry it had. The Exchanger does not modify e afterwards.
	Set(key Key, e *Entry, ttl time.Duration)
	// Delete removes the entry for key, if any.
	Delete(key Key)
}

// CompareAndDeleter is an optional interface of a [Cache]: an atomic
// removal of an entry that still is the one the caller saw. [MemoryCache]
// implements it.
type CompareAndDeleter interface {
	// CompareAndDelete removes the entry for key if there is one and match
	// reports true for it, as one atomic step with respect to Set and
	// Delete of the same key, and reports whether it removed an entry.
	// match must not call the cache.
	CompareAndDelete(key Key, match func(*Entry) bool) bool
}

// Entry is one cached exchange result. The Exchanger never modifies an
// Entry once it has passed it to [Cache.Set].
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

// compareAndDelete removes the entry for key from c if match holds for it:
// atomically when c is a [CompareAndDeleter], otherwise by Get, compare,
// Delete.
func compareAndDelete(c Cache, key Key, match func(*Entry) bool) bool {
	if cd, ok := c.(CompareAndDeleter); ok {
		return cd.CompareAndDelete(key, match)
	}
	e, ok := c.Get(key)
	if !ok || e == nil || !match(e) {
		return false
	}
	c.Delete(key)
	return true
}

// holds returns a match for an entry holding the same access token as tok;
// a nil tok matches any entry.
func holds(tok *authority.Token) func(*Entry) bool {
	return func(e *Entry) bool {
		return tok == nil || (e.Token != nil && e.Token.AccessToken == tok.AccessToken)
	}
}
