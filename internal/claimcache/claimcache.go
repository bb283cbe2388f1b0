// Package claimcache holds what the caches of validated claims share:
// middleware/jwt's verified-token cache and middleware/introspect's
// caches of introspection answers. Both are otter caches weighed by
// [EntrySize], on a [Clock] without ticks and with the [Inline] executor,
// so that no goroutine of theirs runs.
package claimcache

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/go-tokenexchange/tokenexchange/middleware"
)

// EntryOverhead is the memory of an entry beyond its claims' variable
// parts: the entry, the Claims struct, otter's node and its share of the
// hash table, as measured by middleware/jwt's
// BenchmarkVerifiedCacheMemory.
const EntryOverhead = 512

// EntrySize estimates the bytes an entry holding c holds: the overhead,
// the claims' JSON (payload bytes, kept for [middleware.Claims.Decode])
// and their strings.
func EntrySize(c *middleware.Claims, payload int) int64 {
	n := int64(EntryOverhead + payload + len(c.Issuer) + len(c.Subject) + len(c.ID))
	for _, s := range c.Audience {
		n += int64(16 + len(s))
	}
	for _, s := range c.Scopes {
		n += int64(16 + len(s))
	}
	return n
}

// Later returns the later of a and b.
func Later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Inline is an otter Executor that runs maintenance on the goroutine of
// the read or write that asked for it: the default executor starts a
// goroutine for it, which slows every miss and may outlive the cache.
// Nothing a cache runs under otter's locks may then call the cache back.
func Inline(maintain func()) { maintain() }

// Clock adapts a Now function to otter's Clock, without ticks: expired
// entries go during the maintenance that reads and writes do.
type Clock struct{ Now func() time.Time }

// NowNano returns the time of c.Now in nanoseconds since the Unix epoch.
func (c Clock) NowNano() int64 { return c.Now().UnixNano() }

// Tick returns nil: the clock never ticks.
func (c Clock) Tick(time.Duration) <-chan time.Time { return nil }

// ErrTooLarge: the bytes per entry exceed what an entry can weigh (1<<31).
var ErrTooLarge = errors.New("claimcache: MaxBytes/MaxEntries is too large")

// Weighed is how [New] bounds a cache of entries V.
type Weighed[V any] struct {
	// MaxEntries and MaxBytes bound the entries: each weighs its size
	// and at least MaxBytes/MaxEntries (rounded up), so that both bounds
	// hold.
	MaxEntries int
	MaxBytes   int64
	// Size is an entry's estimated bytes ([EntrySize]).
	Size func(V) uint32
	// Until is when an entry expires.
	Until func(V) time.Time
	// Now is the cache's clock.
	Now func() time.Time
	// Evictions counts the entries dropped to keep the bound.
	Evictions *atomic.Int64
}

// New returns an otter cache bounded as w says, whose entries expire at
// w.Until on w.Now, on a [Clock] without ticks and the [Inline]
// executor: no goroutine of the cache's runs, before it is dropped or
// after. Nothing it runs under otter's locks calls the cache back: the
// weigher, the expiry and the eviction counter read only the entry, the
// clock and an atomic counter.
// It returns [ErrTooLarge] when MaxBytes/MaxEntries exceeds a weight.
func New[K comparable, V any](w Weighed[V]) (*otter.Cache[K, V], error) {
	floor := (w.MaxBytes + int64(w.MaxEntries) - 1) / int64(w.MaxEntries)
	if floor > 1<<31 {
		return nil, ErrTooLarge
	}
	return otter.New(&otter.Options[K, V]{
		MaximumWeight: uint64(w.MaxBytes),
		Weigher: func(_ K, v V) uint32 {
			return uint32(max(int64(w.Size(v)), floor))
		},
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[K, V]) time.Duration {
			return max(w.Until(e.Value).Sub(w.Now()), 1)
		}),
		OnAtomicDeletion: func(e otter.DeletionEvent[K, V]) {
			if e.Cause == otter.CauseOverflow {
				w.Evictions.Add(1)
			}
		},
		Clock:    Clock{Now: w.Now},
		Executor: Inline,
	})
}
