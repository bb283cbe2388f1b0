package exchange

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"
)

// Defaults of the in-memory cache.
const (
	// DefaultMaxEntries bounds the entries of a [MemoryCache].
	DefaultMaxEntries = 100_000
	// DefaultMaxBytes bounds the estimated bytes of a [MemoryCache]
	// (256 MiB).
	DefaultMaxBytes = 256 << 20
)

// MemoryOptions configures a [MemoryCache]. The zero value is valid.
type MemoryOptions struct {
	// MaxEntries bounds the number of entries. Default [DefaultMaxEntries].
	MaxEntries int
	// MaxBytes bounds the estimated size of the entries ([Entry.Size]).
	// Default [DefaultMaxBytes].
	MaxBytes int64
	// Now is the clock used for expiry. If nil, the wall clock, and
	// expired entries are also removed by a periodic clean-up; with a Now
	// they are removed during the maintenance that reads and writes do.
	Now func() time.Time
}

// MemoryCache is the in-memory [Cache]: a W-TinyLFU cache (otter v2) with
// per-entry expiry, bounded both in entries and in bytes. When either bound
// is reached the entries least likely to be used again are evicted. It is
// safe for concurrent use and may be shared by several Exchangers (their
// keys differ by client identity). Close it once it is no longer used.
type MemoryCache struct {
	c         *otter.Cache[Key, memItem]
	evictions atomic.Uint64
}

var (
	_ Cache             = (*MemoryCache)(nil)
	_ CompareAndDeleter = (*MemoryCache)(nil)
)

// memItem carries the TTL to the expiry calculator.
type memItem struct {
	e   *Entry
	ttl time.Duration
}

// NewMemoryCache returns an empty MemoryCache. Its clean-up goroutine runs
// until [MemoryCache.Close]. It returns an error (no sentinel) for a
// negative MaxEntries or MaxBytes, or a MaxBytes/MaxEntries above 2 GiB.
//
// otter bounds a cache either by count or by weight, not both; both bounds
// hold by weighing each entry at least MaxBytes/MaxEntries: the total
// weight stays under MaxBytes, so the count stays under MaxEntries, and the
// bytes (never above the weight) under MaxBytes.
func NewMemoryCache(opts MemoryOptions) (*MemoryCache, error) {
	if opts.MaxEntries < 0 || opts.MaxBytes < 0 {
		return nil, errors.New("exchange: MemoryOptions.MaxEntries and MaxBytes must not be negative")
	}
	if opts.MaxEntries == 0 {
		opts.MaxEntries = DefaultMaxEntries
	}
	if opts.MaxBytes == 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	floor := (opts.MaxBytes + int64(opts.MaxEntries) - 1) / int64(opts.MaxEntries)
	if floor > 1<<31 {
		return nil, errors.New("exchange: MemoryOptions.MaxBytes/MaxEntries is too large")
	}
	m := &MemoryCache{}
	o := &otter.Options[Key, memItem]{
		MaximumWeight: uint64(opts.MaxBytes),
		Weigher: func(_ Key, it memItem) uint32 {
			return uint32(max(int64(it.e.Size()), floor))
		},
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[Key, memItem]) time.Duration {
			return e.Value.ttl
		}),
		OnAtomicDeletion: func(e otter.DeletionEvent[Key, memItem]) {
			if e.Cause == otter.CauseOverflow {
				m.evictions.Add(1)
			}
		},
	}
	if opts.Now != nil {
		o.Clock = clock{opts.Now}
	}
	c, err := otter.New(o)
	if err != nil {
		return nil, err
	}
	m.c = c
	return m, nil
}

// Get implements [Cache]: it returns the entry stored for key, or
// [ErrCacheMiss] (never wrapped) when there is none or it has expired. It
// returns no other error and ignores ctx: a hit makes no allocation.
func (m *MemoryCache) Get(_ context.Context, key Key) (*Entry, error) {
	it, ok := m.c.GetIfPresent(key)
	if !ok {
		return nil, ErrCacheMiss
	}
	return it.e, nil
}

// Set implements [Cache]: it stores e for key for ttl; a ttl of zero or
// less removes the entry for key instead. It returns an error, storing
// nothing, only for a nil Entry or one without a Token. It ignores ctx.
func (m *MemoryCache) Set(_ context.Context, key Key, e *Entry, ttl time.Duration) error {
	if e == nil || e.Token == nil {
		return errors.New("exchange: MemoryCache.Set of an entry with no token")
	}
	if ttl <= 0 {
		m.c.Invalidate(key)
		return nil
	}
	m.c.Set(key, memItem{e: e, ttl: ttl})
	return nil
}

// Delete implements [Cache]. It returns no error and ignores ctx.
func (m *MemoryCache) Delete(_ context.Context, key Key) error {
	m.c.Invalidate(key)
	return nil
}

// CompareAndDelete implements [CompareAndDeleter]: match runs under the
// lock of key's bucket, so no Set of key comes between it and the removal.
// It returns no error and ignores ctx.
func (m *MemoryCache) CompareAndDelete(_ context.Context, key Key, match func(*Entry) bool) (bool, error) {
	removed := false
	m.c.ComputeIfPresent(key, func(it memItem) (memItem, otter.ComputeOp) {
		if it.e != nil && match(it.e) {
			removed = true
			return it, otter.InvalidateOp
		}
		return it, otter.CancelOp
	})
	return removed, nil
}

// Len returns the number of entries, counting some that have expired or
// are about to be evicted. [Exchanger.Stats] reports it as Entries (for
// any Cache with a Len method).
func (m *MemoryCache) Len() int { return m.c.EstimatedSize() }

// Weight returns the total weight of the entries: their estimated bytes,
// each counted at least MaxBytes/MaxEntries.
func (m *MemoryCache) Weight() uint64 { return m.c.WeightedSize() }

// Evictions returns how many entries were evicted to keep the bounds.
// [Exchanger.Stats] reports it (for any Cache with an Evictions method).
func (m *MemoryCache) Evictions() uint64 { return m.evictions.Load() }

// Close stops the cache's clean-up goroutine and drops its entries. The
// cache stays usable: what is stored afterwards expires as before, but
// expired entries are then removed only during the maintenance that reads
// and writes do. Call Close when no Exchanger uses the cache any more (an
// [Exchanger] closes only the cache it made itself); until then, or until
// the cache is garbage-collected, the goroutine runs. Close is safe for
// concurrent use and may be called more than once.
func (m *MemoryCache) Close() {
	m.c.StopAllGoroutines()
	m.c.InvalidateAll()
}

// CleanUp performs pending maintenance now: eviction down to the bounds
// and removal of expired entries. It is never required.
func (m *MemoryCache) CleanUp() { m.c.CleanUp() }

// clock adapts a Now function to otter's Clock. It has no ticks: expired
// entries are removed during the maintenance that reads and writes do.
type clock struct{ now func() time.Time }

func (c clock) NowNano() int64                      { return c.now().UnixNano() }
func (c clock) Tick(time.Duration) <-chan time.Time { return nil }
