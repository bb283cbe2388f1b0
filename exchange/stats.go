package exchange

import (
	"fmt"
	"math/rand/v2"
	"sync/atomic"
)

// Stats counts what an [Exchanger] did since it was created. It is for
// programs without OpenTelemetry: the same figures are reported as metrics
// (see the package documentation, "Telemetry").
type Stats struct {
	// Hits are requests answered from the cache, RefreshAheadHits
	// included.
	Hits uint64
	// RefreshAheadHits are the Hits on an entry due for refresh (whether
	// or not this hit started the refresh).
	RefreshAheadHits uint64
	// Misses are requests that found no usable entry and waited for an
	// exchange (their own or one in flight), Coalesced included.
	Misses uint64
	// Coalesced are the Misses that joined an exchange another request
	// (or a background refresh) had started for the same key, instead of
	// starting one. A request is classified when it first joins.
	Coalesced uint64
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
	// RefreshSkipped are background refreshes that found no free slot
	// ([Options.MaxInFlight]): a hit tries again a few seconds later.
	RefreshSkipped uint64
	// Errors are exchanges the authority refused or that failed, Busy and
	// SlotTimeouts included.
	Errors uint64
	// Busy are exchanges rejected with [ErrBusy]: too many were waiting
	// for a free slot.
	Busy uint64
	// SlotTimeouts are exchanges that found no free slot within
	// [Options.FlightTimeout].
	SlotTimeouts uint64
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

	// The fields below count the work of the shared tier
	// ([Options.Shared]); they stay zero without one.

	// SharedHits are the Misses (Coalesced included) whose token came
	// from the shared tier: their flight found it there, or waited for
	// the replica holding the fleet-wide lock to store it. A request is
	// counted when its wait ends.
	SharedHits uint64
	// SharedErrors are calls of the shared Cache or its [Coordinator]
	// that failed, each taken for a miss (or a lock not taken).
	SharedErrors uint64
	// LocksWon, LocksLost and LockErrors count the attempts to take the
	// fleet-wide lock of a key (by flights and refreshes): taken, held by
	// another replica, or failed (LockErrors are in SharedErrors too).
	LocksWon, LocksLost, LockErrors uint64
	// WaitsFound are flights that lost the lock and then found the token
	// the lock's holder stored; WaitsTimedOut those that did not within
	// [Options.SharedWait] (or whose wait failed), and exchanged
	// themselves.
	WaitsFound, WaitsTimedOut uint64
	// RefreshAdopted are background refreshes that found a newer token
	// in the shared tier, stored by another replica's refresh, and took
	// it without an exchange.
	RefreshAdopted uint64
	// InvalidationsPublished are the invalidations this replica sent to
	// the fleet; InvalidationsReceived those it received (its own
	// included); InvalidationsApplied those that removed an entry of its
	// first tier (holding the refused token).
	InvalidationsPublished, InvalidationsReceived, InvalidationsApplied uint64
}

// hitStripes spreads the hit counters over cache lines, so that parallel
// hits do not contend on one.
const hitStripes = 16

type paddedCounter struct {
	n atomic.Uint64
	_ [56]byte
}

// stripedCounter is a counter for the hit path: each add goes to a stripe
// chosen at random (math/rand/v2's global source is per-thread and cheap),
// so that parallel hits on one hot key spread over the stripes instead of
// sharing one cache line.
type stripedCounter [hitStripes]paddedCounter

func (c *stripedCounter) add() { c[rand.Uint32()%hitStripes].n.Add(1) }

func (c *stripedCounter) load() uint64 {
	var n uint64
	for i := range c {
		n += c[i].n.Load()
	}
	return n
}

// counters are the live values behind Stats and the metrics. Each is
// monotonic, and the lookup counters are disjoint (a request counts in one
// of them), so that a metric made of one never goes down.
type counters struct {
	hits             stripedCounter // hits not due for refresh
	refreshAheadHits stripedCounter // hits due for refresh
	misses           atomic.Uint64  // misses that started their own flight
	coalesced        atomic.Uint64  // misses that joined another's flight
	negativeHits     atomic.Uint64
	exchanges        atomic.Uint64
	refreshes        atomic.Uint64
	refreshSuccesses atomic.Uint64
	refreshFailures  atomic.Uint64
	refreshSkipped   atomic.Uint64
	errors           atomic.Uint64
	busy             atomic.Uint64
	slotTimeouts     atomic.Uint64
	canceled         atomic.Uint64
	cacheErrors      atomic.Uint64

	// waited classifies each request that waited for a flight, when its
	// wait ends (for the lookups metric, disjoint and monotonic): how it
	// joined, unless its token came from the shared tier.
	waitedMiss, waitedCoalesced, waitedShared atomic.Uint64

	sharedErrors           atomic.Uint64
	locksWon               atomic.Uint64
	locksLost              atomic.Uint64
	lockErrors             atomic.Uint64
	waitsFound             atomic.Uint64
	waitsTimedOut          atomic.Uint64
	refreshAdopted         atomic.Uint64
	invalidationsPublished atomic.Uint64
	invalidationsReceived  atomic.Uint64
	invalidationsApplied   atomic.Uint64
}

// countWaited classifies a request whose wait for a flight has ended.
func (c *counters) countWaited(coalesced, shared bool) {
	switch {
	case shared:
		c.waitedShared.Add(1)
	case coalesced:
		c.waitedCoalesced.Add(1)
	default:
		c.waitedMiss.Add(1)
	}
}

// Stats returns a snapshot of the counters.
func (x *Exchanger) Stats() Stats {
	c := &x.stats
	s := Stats{
		Coalesced:        c.coalesced.Load(),
		NegativeHits:     c.negativeHits.Load(),
		Exchanges:        c.exchanges.Load(),
		Refreshes:        c.refreshes.Load(),
		RefreshFailures:  c.refreshFailures.Load(),
		RefreshSkipped:   c.refreshSkipped.Load(),
		Errors:           c.errors.Load(),
		Busy:             c.busy.Load(),
		SlotTimeouts:     c.slotTimeouts.Load(),
		Canceled:         c.canceled.Load(),
		CacheErrors:      c.cacheErrors.Load(),
		RefreshAheadHits: c.refreshAheadHits.load(),
		Entries:          -1,

		SharedHits:             c.waitedShared.Load(),
		SharedErrors:           c.sharedErrors.Load(),
		LocksWon:               c.locksWon.Load(),
		LocksLost:              c.locksLost.Load(),
		LockErrors:             c.lockErrors.Load(),
		WaitsFound:             c.waitsFound.Load(),
		WaitsTimedOut:          c.waitsTimedOut.Load(),
		RefreshAdopted:         c.refreshAdopted.Load(),
		InvalidationsPublished: c.invalidationsPublished.Load(),
		InvalidationsReceived:  c.invalidationsReceived.Load(),
		InvalidationsApplied:   c.invalidationsApplied.Load(),
	}
	s.Hits = c.hits.load() + s.RefreshAheadHits
	s.Misses = c.misses.Load() + s.Coalesced
	s.Evictions, _ = x.evictions()
	if n, ok := x.entries(); ok {
		s.Entries = n
	}
	return s
}

// evictions returns the cache's eviction count, and whether it counts them.
func (x *Exchanger) evictions() (uint64, bool) {
	if ec, ok := x.cache.(interface{ Evictions() uint64 }); ok {
		return ec.Evictions(), true
	}
	return 0, false
}

// entries returns the number of cached entries, and whether the cache
// tells.
func (x *Exchanger) entries() (int, bool) {
	if l, ok := x.cache.(interface{ Len() int }); ok {
		return l.Len(), true
	}
	return 0, false
}

// String prints the counters with their names, as
// "exchange.Stats{Hits:2 RefreshAheadHits:0 Misses:1 ... Entries:-1}".
func (s Stats) String() string {
	type fields Stats // without the String method
	return fmt.Sprintf("exchange.Stats%+v", fields(s))
}
