package introspect

import (
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/go-tokenexchange/tokenexchange/internal/claimcache"
	"github.com/go-tokenexchange/tokenexchange/middleware"
)

// TestCachesMaintainOnTheCallersGoroutine: the caches' maintenance
// (eviction over the bound, expiry) has run when the write that called
// for it returns, so that no goroutine of otter's runs or outlives close.
func TestCachesMaintainOnTheCallersGoroutine(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	now := time.Unix(1_800_000_000, 0)
	clockNow := func() time.Time { return now }
	const entries = 4
	cs, err := newCaches(entries, entries*claimcache.EntryOverhead*2, entries, clockNow)
	require.NoError(t, err)
	for i := range 64 {
		d := sha256.Sum256(fmt.Appendf(nil, "token-%d", i))
		cs.putActive(d, &middleware.Claims{Subject: "alice"}, 64, now, time.Minute, 0)
		cs.putRefusal(sha256.Sum256(fmt.Appendf(nil, "refused-%d", i)), tokenError(ErrInactive, "token is not active"), now, time.Minute)
		// Evictions are counted by OnAtomicDeletion, during maintenance:
		// already, with no wait.
		if i >= 2*entries {
			require.Positive(t, cs.evictions.Load(), "after write %d", i)
		}
	}
	active, refusals := cs.len()
	assert.LessOrEqual(t, active, entries*2)
	assert.LessOrEqual(t, refusals, entries)
	cs.close()
}
