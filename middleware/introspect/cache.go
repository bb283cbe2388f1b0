package introspect

import (
	"crypto/sha256"
	"errors"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/go-tokenexchange/tokenexchange/internal/claimcache"
	"github.com/go-tokenexchange/tokenexchange/middleware"
)

// digest is a token's SHA-256, the key of both caches.
type digest = [sha256.Size]byte

// activeEntry is an active answer that passed every check. Immutable.
type activeEntry struct {
	claims *middleware.Claims
	from   time.Time // the later of "nbf" and "iat", minus the leeway
	until  time.Time // the earlier of "exp" and the introspection plus MaxAge
	size   uint32
}

// fresh reports whether e may answer at now.
func (e *activeEntry) fresh(now time.Time) bool {
	return now.Before(e.until) && !now.Before(e.from)
}

// refusalEntry is a refusal (inactive, or claims refused). Immutable.
type refusalEntry struct {
	err   *middleware.Error
	until time.Time
}

// caches are the two caches of a Validator, each with its own bound.
type caches struct {
	active   *otter.Cache[digest, *activeEntry]
	refusals *otter.Cache[digest, *refusalEntry] // nil when refusals are not cached
	now      func() time.Time

	evictions atomic.Int64
}

// newCaches returns the caches, bounded as cfg says (defaults applied).
// Their clock has no ticks: expired entries go during the maintenance
// that reads and writes do, on their own goroutine (an executor that
// runs it inline), and no goroutine of the caches' runs, before Close or
// after.
func newCaches(maxEntries int, maxBytes int64, refusalEntries int, now func() time.Time) (*caches, error) {
	cs := &caches{now: now}
	active, err := claimcache.New[digest](claimcache.Weighed[*activeEntry]{
		MaxEntries: maxEntries,
		MaxBytes:   maxBytes,
		Size:       func(e *activeEntry) uint32 { return e.size },
		Until:      func(e *activeEntry) time.Time { return e.until },
		Now:        now,
		Evictions:  &cs.evictions,
	})
	if errors.Is(err, claimcache.ErrTooLarge) {
		return nil, errors.New("introspect: Config.MaxBytes/MaxEntries is too large")
	}
	if err != nil {
		return nil, err
	}
	cs.active = active
	if refusalEntries > 0 {
		refusals, err := otter.New(&otter.Options[digest, *refusalEntry]{
			MaximumSize: refusalEntries,
			ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[digest, *refusalEntry]) time.Duration {
				return max(e.Value.until.Sub(now()), 1)
			}),
			Clock:    claimcache.Clock{Now: now},
			Executor: claimcache.Inline, // as the active cache's; the expiry reads only the entry and the clock
		})
		if err != nil {
			return nil, err
		}
		cs.refusals = refusals
	}
	return cs, nil
}

// getActive returns the entry for d, or nil.
func (cs *caches) getActive(d digest) *activeEntry {
	e, _ := cs.active.GetIfPresent(d)
	return e
}

// getRefusal returns the refusal for d if it is still fresh at now.
func (cs *caches) getRefusal(d digest, now time.Time) *middleware.Error {
	if cs.refusals == nil {
		return nil
	}
	e, ok := cs.refusals.GetIfPresent(d)
	if !ok || !now.Before(e.until) {
		return nil
	}
	return e.err
}

// putActive remembers claims until the earlier of exp and now+maxAge;
// payload is the length of the answer's JSON, which the claims keep.
func (cs *caches) putActive(d digest, claims *middleware.Claims, payload int, now time.Time, maxAge, leeway time.Duration) {
	e := &activeEntry{
		claims: claims,
		from:   claimcache.Later(claims.NotBefore, claims.IssuedAt).Add(-leeway),
		until:  now.Add(maxAge),
		size:   uint32(min(claimcache.EntrySize(claims, payload), 1<<31)),
	}
	if !claims.Expiry.IsZero() && claims.Expiry.Before(e.until) {
		e.until = claims.Expiry
	}
	if cs.refusals != nil {
		cs.refusals.Invalidate(d)
	}
	if !now.Before(e.until) {
		return
	}
	cs.active.Set(d, e)
}

// putRefusal remembers err for maxAge.
func (cs *caches) putRefusal(d digest, err *middleware.Error, now time.Time, maxAge time.Duration) {
	cs.active.Invalidate(d)
	if cs.refusals == nil {
		return
	}
	cs.refusals.Set(d, &refusalEntry{err: err, until: now.Add(maxAge)})
}

// len returns the entries of each cache (counting some that expired).
func (cs *caches) len() (active, refusals int) {
	if cs.refusals != nil {
		refusals = cs.refusals.EstimatedSize()
	}
	return cs.active.EstimatedSize(), refusals
}

// close drops every entry. StopAllGoroutines is a safeguard: with no
// ticks and an inline executor, the caches start no goroutine.
func (cs *caches) close() {
	cs.active.StopAllGoroutines()
	cs.active.InvalidateAll()
	if cs.refusals != nil {
		cs.refusals.StopAllGoroutines()
		cs.refusals.InvalidateAll()
	}
}
