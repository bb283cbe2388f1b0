package exchange

import (
	"sync/atomic"
	"time"

	"github.com/go-tokenexchange/tokenexchange/authority"
)

// Cache stores issued tokens by [Key]. It never sees a subject token. An
// implementation must be safe for concurrent use; a shared store (Redis,
// memcached) can implement it to share tokens between instances.
//
// The Exchanger checks [Entry.Expires] itself and never serves an expired
// entry, so a store may keep entries a little longer than their TTL.
type Cache interface {
	// Get returns the entry stored for key, if any. The Exchanger does not
	// modify the entry or its token.
	Get(key Key) (*Entry, bool)
	// Set stores e for key for at most ttl (always positive), replacing any
	// entry it had.
	Set(key Key, e *Entry, ttl time.Duration)
	// Delete removes the entry for key, if any.
	Delete(key Key)
}

// Entry is one cached exchange result.
type Entry struct {
	// Token is the issued token. Never nil.
	Token *authority.Token
	// Expires is when the entry stops being served: the earlier of
	// Token.Expiry and the subject token's "exp", minus the skew.
	Expires time.Time
	// RefreshAt is when a hit starts a background exchange for a new token;
	// zero for never.
	RefreshAt time.Time

	// nextRefresh is the unix nanosecond time of the next refresh attempt
	// (0: RefreshAt). Hits race to advance it, so that one of them starts
	// the refresh and a failed refresh is retried no sooner than
	// refreshRetry later.
	nextRefresh atomic.Int64
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

// claimRefresh reports whether the caller should start a refresh at now,
// and if so moves the next attempt to retryAt. Exactly one of concurrent
// callers wins.
func (e *Entry) claimRefresh(now, retryAt int64) bool {
	next := e.nextRefresh.Load()
	due := next
	if due == 0 {
		if e.RefreshAt.IsZero() {
			return false
		}
		due = e.RefreshAt.UnixNano()
	}
	if now < due {
		return false
	}
	return e.nextRefresh.CompareAndSwap(next, retryAt)
}
