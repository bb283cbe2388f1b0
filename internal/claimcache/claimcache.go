// Package claimcache holds what the caches of validated claims share:
// middleware/jwt's verified-token cache and middleware/introspect's
// caches of introspection answers. Both are otter caches weighed by
// [EntrySize], on a [Clock] without ticks and with the [Inline] executor,
// so that no goroutine of theirs runs.
package claimcache

import (
	"time"

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
