package jwt

import (
	"crypto/sha256"
	"errors"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/go-tokenexchange/tokenexchange/internal/claimcache"
	"github.com/go-tokenexchange/tokenexchange/middleware"
)

// Defaults of the verified-token cache ([Config.VerifiedCacheMaxEntries],
// [Config.VerifiedCacheMaxBytes], [Config.VerifiedCacheMaxAge]).
const (
	DefaultVerifiedCacheMaxEntries = 10_000
	DefaultVerifiedCacheMaxBytes   = 32 << 20
	DefaultVerifiedCacheMaxAge     = 5 * time.Minute
)

// verifiedEntry is what the verified-token cache remembers of a token that
// passed every check. It is immutable once stored.
type verifiedEntry struct {
	claims *middleware.Claims
	key    keyID     // the key that verified the signature
	from   time.Time // the latest of "nbf" and "iat", minus the leeway: a hit before it is a miss
	until  time.Time // the earliest of "exp" plus the leeway and the verification plus the maximum age
	size   uint32    // estimated bytes
}

// fresh reports whether e may answer at now with the keys of snap: now is
// within [from, until) and the key that verified it is still in the set.
func (e *verifiedEntry) fresh(now time.Time, snap *keySnapshot) bool {
	return now.Before(e.until) && !now.Before(e.from) && snap.has(e.key)
}

// verifiedCache remembers the tokens a Validator accepted, by the
// SHA-256 of the token. It is the Validator's own: another Validator, with
// another issuer, audience or key set, has another one.
type verifiedCache struct {
	c      *otter.Cache[[sha256.Size]byte, *verifiedEntry]
	maxAge time.Duration

	hits, misses, evictions atomic.Int64
}

// newVerifiedCache returns a cache bounded by maxEntries and maxBytes
// whose entries live at most maxAge, on the clock now. As in
// exchange.MemoryCache, both bounds hold by weighing each entry at least
// maxBytes/maxEntries. Its clock has no ticks: expired entries go during
// the maintenance that reads and writes do, on their own goroutine, and
// no goroutine of the cache's runs.
func newVerifiedCache(maxEntries int, maxBytes int64, maxAge time.Duration, now func() time.Time) (*verifiedCache, error) {
	vc := &verifiedCache{maxAge: maxAge}
	// Maintenance runs on the writer's goroutine: the default executor
	// starts a goroutine for it, which cost a first sight about 8% of its
	// time.
	c, err := claimcache.New[[sha256.Size]byte](claimcache.Weighed[*verifiedEntry]{
		MaxEntries: maxEntries,
		MaxBytes:   maxBytes,
		Size:       func(e *verifiedEntry) uint32 { return e.size },
		Until:      func(e *verifiedEntry) time.Time { return e.until },
		Now:        now,
		Evictions:  &vc.evictions,
	})
	if errors.Is(err, claimcache.ErrTooLarge) {
		return nil, errors.New("jwt: Config.VerifiedCacheMaxBytes/VerifiedCacheMaxEntries is too large")
	}
	if err != nil {
		return nil, err
	}
	vc.c = c
	return vc, nil
}

// get returns the entry for digest, or nil; the caller checks that it is
// fresh, and counts the hit or miss.
func (vc *verifiedCache) get(digest [sha256.Size]byte) *verifiedEntry {
	e, _ := vc.c.GetIfPresent(digest)
	return e
}

// put remembers claims, verified at now with the key id; payload is the
// length of the claims' JSON, which they keep. leeway is the validator's.
func (vc *verifiedCache) put(digest [sha256.Size]byte, claims *middleware.Claims, id keyID, payload int, now time.Time, leeway time.Duration) {
	e := &verifiedEntry{
		claims: claims,
		key:    id,
		from:   claimcache.Later(claims.NotBefore, claims.IssuedAt).Add(-leeway),
		until:  claims.Expiry.Add(leeway),
		size:   uint32(min(claimcache.EntrySize(claims, payload), 1<<31)),
	}
	if limit := now.Add(vc.maxAge); limit.Before(e.until) {
		e.until = limit
	}
	if !now.Before(e.until) {
		return
	}
	vc.c.Set(digest, e)
}

// purge drops the entries verified with a key snap does not hold.
func (vc *verifiedCache) purge(snap *keySnapshot) {
	var gone [][sha256.Size]byte
	for d, e := range vc.c.All() {
		if !snap.has(e.key) {
			gone = append(gone, d)
		}
	}
	for _, d := range gone {
		vc.c.Invalidate(d)
	}
}

// len returns the number of entries (counting some that have expired).
func (vc *verifiedCache) len() int { return vc.c.EstimatedSize() }

// close stops otter's goroutines, if any, and drops every entry.
func (vc *verifiedCache) close() {
	vc.c.StopAllGoroutines()
	vc.c.InvalidateAll()
}
