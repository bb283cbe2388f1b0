package exchange

import (
	"fmt"
	"math/rand/v2"
	"sync/atomic"
)

// Stats counts what an [Exchanger] did since it was created.
type Stats struct {
	// Hits are requests answered from the cache.
	Hits uint64
	// Misses are requests that found no usable entry and waited for an
	// exchange (their own or one in flight).
	Misses uint64
	// NegativeHits are requests refused from the negative cache.
	NegativeHits uint64
	// Exchanges are requests sent to the authority, refreshes included.
	Exchanges uint64
	// Refreshes are background refreshes started by hits that reached the
	// authority (not those that joined an exchange in flight or found no
	// free slot).
	Refreshes uint64
	// RefreshFailures are background refreshes that failed. The old token
	// was kept, unless the authority refused permanently.
	RefreshFailures uint64
	// Errors are exchanges the authority refused or that failed.
	Errors uint64
	// Canceled are callers that stopped waiting because their context
	// ended.
	Canceled uint64
	// CacheErrors are calls of the [Cache] that failed: an error other
	// than [ErrCacheMiss] (a Get then counts as a miss), or a Get that
	// answered neither an entry with a token nor an error.
	CacheErrors uint64
	// Evictions are entries evicted to keep the cache's bounds, when the
	// cache counts them (as [MemoryCache] does).
	Evictions uint64
	// Entries is the number of cached entries, when the cache tells
	// (as [MemoryCache] does); -1 otherwise.
	Entries int
}

// hitStripes spreads the hit counter over cache lines, so that parallel
// hits do not contend on one.
const hitStripes = 16

type paddedCounter struct {
	n atomic.Uint64
	_ [56]byte
}

// counters are the live values behind Stats.
type counters struct {
	hits            [hitStripes]paddedCounter
	misses          atomic.Uint64
	negativeHits    atomic.Uint64
	exchanges       atomic.Uint64
	refreshes       atomic.Uint64
	refreshFailures atomic.Uint64
	errors          atomic.Uint64
	canceled        atomic.Uint64
	cacheErrors     atomic.Uint64
}

// hit counts a hit on a stripe chosen at random (math/rand/v2's global
// source is per-thread and cheap), so that parallel hits on one hot key
// spread over the stripes instead of sharing one cache line.
func (c *counters) hit() { c.hits[rand.Uint32()%hitStripes].n.Add(1) }

// Stats returns a snapshot of the counters.
func (x *Exchanger) Stats() Stats {
	c := &x.stats
	s := Stats{
		Misses:          c.misses.Load(),
		NegativeHits:    c.negativeHits.Load(),
		Exchanges:       c.exchanges.Load(),
		Refreshes:       c.refreshes.Load(),
		RefreshFailures: c.refreshFailures.Load(),
		Errors:          c.errors.Load(),
		Canceled:        c.canceled.Load(),
		CacheErrors:     c.cacheErrors.Load(),
		Entries:         -1,
	}
	for i := range c.hits {
		s.Hits += c.hits[i].n.Load()
	}
	if ec, ok := x.cache.(interface{ Evictions() uint64 }); ok {
		s.Evictions = ec.Evictions()
	}
	if l, ok := x.cache.(interface{ Len() int }); ok {
		s.Entries = l.Len()
	}
	return s
}

// String prints the counters with their names, as
// "exchange.Stats{Hits:2 Misses:1 ... Entries:-1}".
func (s Stats) String() string {
	type fields Stats // without the String method
	return fmt.Sprintf("exchange.Stats%+v", fields(s))
}
