// Package bytecache is an [exchange.Cache] for tests that keeps every entry
// as bytes, encoded with [exchange.Entry.MarshalBinary], as a shared store
// (Redis, memcached) does: Get decodes a new Entry on every call, never
// returning the one Set was given, so that a test through it proves the
// exchanger keeps no state of its own in an Entry and that the encoding
// round-trips.
//
// It is an in-memory byte store, not a mock: it honours TTLs on its clock,
// the context of every call (a call whose context has ended fails with the
// context's error, as a network store's would), and it can be told to fail
// ([Cache.Fail]) to exercise the exchanger's handling of cache errors.
package bytecache

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/go-tokenexchange/tokenexchange/exchange"
)

// Cache stores encoded entries in memory. It is safe for concurrent use.
// Create it with [New].
type Cache struct {
	now func() time.Time

	mu    sync.Mutex // guards the fields below
	items map[exchange.Key]item
	fail  map[Op]error
	stats Stats
}

// Op names an operation of the Cache, for [Cache.Fail].
type Op string

// The operations of a Cache.
const (
	OpGet              Op = "Get"
	OpSet              Op = "Set"
	OpDelete           Op = "Delete"
	OpCompareAndDelete Op = "CompareAndDelete"
)

// allOps are the operations Fail applies to when it is given none.
var allOps = [...]Op{OpGet, OpSet, OpDelete, OpCompareAndDelete}

// item is one stored entry: its bytes and when it expires.
type item struct {
	data    []byte
	expires time.Time
}

// Stats counts the operations a Cache answered.
type Stats struct {
	Gets, Hits, Sets, Deletes, CompareAndDeletes, Failures int
}

var (
	_ exchange.Cache             = (*Cache)(nil)
	_ exchange.CompareAndDeleter = (*Cache)(nil)
)

// New returns an empty Cache whose TTLs run on now (time.Now if nil).
func New(now func() time.Time) *Cache {
	if now == nil {
		now = time.Now
	}
	return &Cache{now: now, items: make(map[exchange.Key]item), fail: make(map[Op]error)}
}

// Fail makes the later calls of ops (of every operation when none is
// given) return err, until Fail(nil, ops...).
func (c *Cache) Fail(err error, ops ...Op) {
	if len(ops) == 0 {
		ops = allOps[:]
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, op := range ops {
		if err == nil {
			delete(c.fail, op)
		} else {
			c.fail[op] = err
		}
	}
}

// Stats returns the operations counted so far.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// check returns the error a call of op fails with: the context's, or the
// one set by Fail. c.mu must be held.
func (c *Cache) check(ctx context.Context, op Op) error {
	if err := ctx.Err(); err != nil {
		c.stats.Failures++
		return err
	}
	if err := c.fail[op]; err != nil {
		c.stats.Failures++
		return err
	}
	return nil
}

// load returns the bytes stored for key, removing them when expired.
// c.mu must be held.
func (c *Cache) load(key exchange.Key) ([]byte, bool) {
	it, ok := c.items[key]
	if !ok {
		return nil, false
	}
	if !c.now().Before(it.expires) {
		delete(c.items, key)
		return nil, false
	}
	return it.data, true
}

// Get implements [exchange.Cache]: it decodes the stored bytes into a new
// Entry, or returns [exchange.ErrCacheMiss].
func (c *Cache) Get(ctx context.Context, key exchange.Key) (*exchange.Entry, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stats.Gets++
	if err := c.check(ctx, OpGet); err != nil {
		return nil, err
	}
	data, ok := c.load(key)
	if !ok {
		return nil, exchange.ErrCacheMiss
	}
	c.stats.Hits++
	e := new(exchange.Entry)
	if err := e.UnmarshalBinary(data); err != nil {
		return nil, err
	}
	return e, nil
}

// Set implements [exchange.Cache]: it stores the bytes of e for ttl; a ttl
// of zero or less removes the entry.
func (c *Cache) Set(ctx context.Context, key exchange.Key, e *exchange.Entry, ttl time.Duration) error {
	if e == nil {
		return errors.New("bytecache: Set of a nil entry")
	}
	data, err := e.MarshalBinary()
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stats.Sets++
	if err := c.check(ctx, OpSet); err != nil {
		return err
	}
	if ttl <= 0 {
		delete(c.items, key)
		return nil
	}
	c.items[key] = item{data: data, expires: c.now().Add(ttl)}
	return nil
}

// Delete implements [exchange.Cache].
func (c *Cache) Delete(ctx context.Context, key exchange.Key) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stats.Deletes++
	if err := c.check(ctx, OpDelete); err != nil {
		return err
	}
	delete(c.items, key)
	return nil
}

// CompareAndDelete implements [exchange.CompareAndDeleter]: the decoding,
// match and removal happen under the cache's lock.
func (c *Cache) CompareAndDelete(ctx context.Context, key exchange.Key, match func(*exchange.Entry) bool) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stats.CompareAndDeletes++
	if err := c.check(ctx, OpCompareAndDelete); err != nil {
		return false, err
	}
	data, ok := c.load(key)
	if !ok {
		return false, nil
	}
	e := new(exchange.Entry)
	if err := e.UnmarshalBinary(data); err != nil {
		return false, err
	}
	if !match(e) {
		return false, nil
	}
	delete(c.items, key)
	return true, nil
}

// Len returns the number of entries that have not expired.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	n := 0
	for _, it := range c.items {
		if now.Before(it.expires) {
			n++
		}
	}
	return n
}

// Plain returns c without its CompareAndDelete method, as a store that
// has no atomic compare-and-delete would be.
func (c *Cache) Plain() exchange.Cache { return plain{c} }

// plain hides CompareAndDelete.
type plain struct{ c *Cache }

func (p plain) Get(ctx context.Context, key exchange.Key) (*exchange.Entry, error) {
	return p.c.Get(ctx, key)
}

func (p plain) Set(ctx context.Context, key exchange.Key, e *exchange.Entry, ttl time.Duration) error {
	return p.c.Set(ctx, key, e, ttl)
}

func (p plain) Delete(ctx context.Context, key exchange.Key) error { return p.c.Delete(ctx, key) }

func (p plain) Len() int { return p.c.Len() }
