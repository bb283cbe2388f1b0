package exchange_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/internal/bytecache"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// errStore is the failure of a shared store.
var errStore = errors.New("store unreachable")

func TestMemoryCacheContract(t *testing.T) {
	ctx := context.Background()
	c, err := exchange.NewMemoryCache(exchange.MemoryOptions{})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	k := exchange.Key{3}
	e := &exchange.Entry{Token: &authority.Token{AccessToken: "t"}, Expires: time.Now().Add(time.Hour)}

	got, err := c.Get(ctx, k)
	assert.Nil(t, got)
	assert.Equal(t, exchange.ErrCacheMiss, err, "a miss is ErrCacheMiss itself")

	require.NoError(t, c.Set(ctx, k, e, time.Hour))
	got, err = c.Get(ctx, k)
	require.NoError(t, err)
	assert.Same(t, e, got)

	assert.Error(t, c.Set(ctx, k, nil, time.Hour), "a nil entry")
	assert.Error(t, c.Set(ctx, k, &exchange.Entry{}, time.Hour), "an entry without a token")
	got, err = c.Get(ctx, k)
	require.NoError(t, err, "a refused Set keeps what was stored")
	assert.Same(t, e, got)

	require.NoError(t, c.Set(ctx, k, e, 0), "a zero TTL removes the entry")
	_, err = c.Get(ctx, k)
	assert.ErrorIs(t, err, exchange.ErrCacheMiss)

	require.NoError(t, c.Set(ctx, k, e, time.Hour))
	require.NoError(t, c.Delete(ctx, k))
	_, err = c.Get(ctx, k)
	assert.ErrorIs(t, err, exchange.ErrCacheMiss)
	require.NoError(t, c.Delete(ctx, k), "deleting what is absent is no error")
}

// TestCacheErrorsAreMisses: whatever the cache fails at, the caller gets a
// token (from the authority when the cache cannot answer), never an error
// or a refusal, and Stats counts the failures.
func TestCacheErrorsAreMisses(t *testing.T) {
	tests := []struct {
		name string
		ops  []bytecache.Op
		// fromStart fails ops on the first Exchange already.
		fromStart bool
		// exchanges is the authority's count after the second Exchange;
		// cacheErrors what Stats counts for it.
		exchanges   int
		cacheErrors uint64
	}{
		// The hit's Get and the flight's Get fail, and so does its Set.
		{"every operation", nil, false, 2, 3},
		{"Get", []bytecache.Op{bytecache.OpGet}, false, 2, 2},
		// Nothing is stored: both calls ask the authority, and both Sets
		// are counted.
		{"Set", []bytecache.Op{bytecache.OpSet}, true, 2, 2},
		// An Exchange never deletes: the second call is a hit.
		{"Delete", []bytecache.Op{bytecache.OpDelete}, false, 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := testutil.NewClock(t0)
			store := bytecache.New(clock.Now)
			e := newEnv(t, exchange.Options{Cache: store, Now: clock.Now}, testutil.Options{Now: clock.Now}, nil)
			subject := authority.NewSubjectToken(e.subject("alice"))
			tgt := exchange.Target{Audiences: []string{"api-a"}}
			if tc.fromStart {
				store.Fail(errStore, tc.ops...)
			}
			first, err := e.x.Exchange(context.Background(), subject, tgt)
			require.NoError(t, err)
			store.Fail(errStore, tc.ops...)

			tok, err := e.x.Exchange(context.Background(), subject, tgt)
			require.NoError(t, err, "a cache error is a miss, never an error")
			assert.Equal(t, tc.exchanges, e.exchanges())
			if tc.exchanges == 1 {
				assert.Equal(t, first.AccessToken, tok.AccessToken)
			}
			st := e.x.Stats()
			assert.Equal(t, tc.cacheErrors, st.CacheErrors)
			assert.Zero(t, st.Errors, "not an exchange error")
			assert.Zero(t, st.NegativeHits)

			// Once the store answers again, what it holds is served.
			store.Fail(nil)
			before, held := e.exchanges(), store.Len()
			_, err = e.x.Exchange(context.Background(), subject, tgt)
			require.NoError(t, err)
			if held > 0 {
				assert.Equal(t, before, e.exchanges(), "a hit")
			} else {
				assert.Equal(t, before+1, e.exchanges(), "nothing was stored: a miss")
			}
		})
	}
}

// TestCacheErrorsInInvalidate: an Invalidate the cache cannot carry out
// removes nothing, reports false, and is counted.
func TestCacheErrorsInInvalidate(t *testing.T) {
	tests := []struct {
		name  string
		plain bool // the cache has no CompareAndDelete
		ops   []bytecache.Op
	}{
		{"CompareAndDelete fails", false, []bytecache.Op{bytecache.OpCompareAndDelete}},
		{"plain: Get fails", true, []bytecache.Op{bytecache.OpGet}},
		{"plain: Delete fails", true, []bytecache.Op{bytecache.OpDelete}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := testutil.NewClock(t0)
			store := bytecache.New(clock.Now)
			var c exchange.Cache = store
			if tc.plain {
				c = store.Plain()
			}
			e := newEnv(t, exchange.Options{Cache: c, Now: clock.Now}, testutil.Options{Now: clock.Now}, nil)
			subject := authority.NewSubjectToken(e.subject("alice"))
			tgt := exchange.Target{Audiences: []string{"api-a"}}
			first, err := e.x.Exchange(context.Background(), subject, tgt)
			require.NoError(t, err)

			store.Fail(errStore, tc.ops...)
			assert.False(t, e.x.Invalidate(context.Background(), subject, tgt, first))
			assert.Equal(t, uint64(1), e.x.Stats().CacheErrors)
			store.Fail(nil)
			assert.Equal(t, 1, store.Len(), "nothing was removed")
			assert.True(t, e.x.Invalidate(context.Background(), subject, tgt, first))
			assert.Equal(t, 0, store.Len())
		})
	}
}

// TestCacheMissIsNotAnError: ErrCacheMiss, even wrapped, is a miss, not a
// cache error.
func TestCacheMissIsNotAnError(t *testing.T) {
	clock := testutil.NewClock(t0)
	e := newEnv(t, exchange.Options{Cache: wrappingMiss{bytecache.New(clock.Now)}, Now: clock.Now}, testutil.Options{Now: clock.Now}, nil)
	_, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(e.subject("alice")), exchange.Target{Audiences: []string{"api-a"}})
	require.NoError(t, err)
	assert.Zero(t, e.x.Stats().CacheErrors)
	assert.Equal(t, uint64(1), e.x.Stats().Misses)
}

// wrappingMiss wraps the ErrCacheMiss of its store, as a store adding
// context to its errors does.
type wrappingMiss struct{ *bytecache.Cache }

func (w wrappingMiss) Get(ctx context.Context, k exchange.Key) (*exchange.Entry, error) {
	e, err := w.Cache.Get(ctx, k)
	if err != nil {
		return nil, fmt.Errorf("redis GET: %w", err)
	}
	return e, nil
}

// brokenCache breaks the Get contract: it answers a nil entry with no
// error, or an entry without a token.
type brokenCache struct {
	*bytecache.Cache
	entry *exchange.Entry
}

func (b brokenCache) Get(context.Context, exchange.Key) (*exchange.Entry, error) {
	return b.entry, nil
}

func TestCacheBrokenGetIsAMiss(t *testing.T) {
	for _, entry := range []*exchange.Entry{nil, {Expires: t0.Add(time.Hour)}} {
		t.Run(fmt.Sprintf("entry %v", entry), func(t *testing.T) {
			clock := testutil.NewClock(t0)
			e := newEnv(t, exchange.Options{Cache: brokenCache{bytecache.New(clock.Now), entry}, Now: clock.Now}, testutil.Options{Now: clock.Now}, nil)
			tok, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(e.subject("alice")), exchange.Target{Audiences: []string{"api-a"}})
			require.NoError(t, err)
			require.NotNil(t, tok)
			assert.Equal(t, uint64(2), e.x.Stats().CacheErrors, "the hit's Get and the flight's Get")
		})
	}
}

// TestRefreshWithFailingSetWaits: a refresh whose token the cache does not
// store leaves the old entry, so the next hits would start a refresh each;
// it waits refreshRetry, as after a failed refresh.
func TestRefreshWithFailingSetWaits(t *testing.T) {
	clock := testutil.NewClock(t0)
	store := bytecache.New(clock.Now)
	opts := refreshOpts
	opts.Cache, opts.Now = store, clock.Now
	e := newEnv(t, opts, testutil.Options{TokenLifetime: 5 * time.Minute, Now: clock.Now}, nil)
	subject := authority.NewSubjectToken(e.subject("alice"))
	tgt := exchange.Target{Audiences: []string{"api-a"}}
	old, err := e.x.Exchange(context.Background(), subject, tgt)
	require.NoError(t, err)

	store.Fail(errStore, bytecache.OpSet)
	clock.Advance(refreshDue)
	tok, err := e.x.Exchange(context.Background(), subject, tgt)
	require.NoError(t, err)
	assert.Equal(t, old.AccessToken, tok.AccessToken)
	testutil.WaitFor(t, "the refresh to end", func() bool { return e.x.Stats().RefreshFailures == 1 })
	for range 20 {
		tok, err := e.x.Exchange(context.Background(), subject, tgt)
		require.NoError(t, err)
		assert.Equal(t, old.AccessToken, tok.AccessToken, "the old entry is still served")
	}
	e.x.Close() // waits for any refresh those hits started
	assert.Equal(t, 2, e.exchanges(), "one refresh within the retry interval")
	assert.Equal(t, uint64(1), e.x.Stats().CacheErrors)
}

func TestStatsString(t *testing.T) {
	st := exchange.Stats{Hits: 2, Misses: 1, CacheErrors: 4, Entries: -1}
	want := "exchange.Stats{Hits:2 RefreshAheadHits:0 Misses:1 Coalesced:0 NegativeHits:0 Exchanges:0 Refreshes:0 RefreshFailures:0 RefreshSkipped:0 Errors:0 Busy:0 SlotTimeouts:0 Canceled:0 CacheErrors:4 Evictions:0 Entries:-1 SharedHits:0 SharedErrors:0 LocksWon:0 LocksLost:0 LockErrors:0 WaitsFound:0 WaitsTimedOut:0 RefreshAdopted:0 InvalidationsPublished:0 InvalidationsReceived:0 InvalidationsApplied:0}"
	assert.Equal(t, want, st.String())
	assert.Equal(t, want, fmt.Sprint(st))
	assert.Equal(t, want, fmt.Sprintf("%v", &st))
}

// cacheModeEnv names the Cache newEnv gives an Exchanger that has none:
// "bytes" for a bytecache.Cache, anything else for the default MemoryCache.
const cacheModeEnv = "TOKENEXCHANGE_TEST_CACHE"

// byteCacheMode reports whether this test binary runs the suite through
// a bytecache.Cache (see TestSuiteThroughByteCache).
func byteCacheMode() bool { return os.Getenv(cacheModeEnv) == "bytes" }

// TestSuiteThroughByteCache runs every test of the package again, with
// -short, in a child process where each Exchanger that newEnv makes
// without a Cache of the test's own stores its entries as bytes
// (bytecache): every entry is encoded on Set and decoded anew on Get, as a
// shared store does.
func TestSuiteThroughByteCache(t *testing.T) {
	if byteCacheMode() {
		t.Skip("running inside the byte-cache suite")
	}
	if testing.Short() {
		t.Skip("the byte-cache suite runs the package's tests again")
	}
	cmd := exec.Command(os.Args[0], "-test.short", "-test.count=1", "-test.v", "-test.run=^(Test|Example)", "-test.timeout=10m")
	cmd.Env = append(os.Environ(), cacheModeEnv+"=bytes")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the suite through a byte cache failed: %v\n%s", err, out)
	}
	passed := strings.Count(string(out), "--- PASS: Test")
	assert.Greater(t, passed, 50, "tests passed through the byte cache")
	assert.Contains(t, string(out), "--- PASS: TestHitsComeFromTheConfiguredCache")
	t.Logf("%d tests passed through the byte cache", passed)
}

// TestHitsComeFromTheConfiguredCache checks what newEnv's cache is: in
// the byte-cache suite every hit decodes a new Token; otherwise the
// MemoryCache hands out the one it stored.
func TestHitsComeFromTheConfiguredCache(t *testing.T) {
	e := newEnv(t, exchange.Options{}, testutil.Options{}, nil)
	subject := authority.NewSubjectToken(e.subject("alice"))
	tgt := exchange.Target{Audiences: []string{"api-a"}}
	first, err := e.x.Exchange(context.Background(), subject, tgt)
	require.NoError(t, err)
	a, err := e.x.Exchange(context.Background(), subject, tgt)
	require.NoError(t, err)
	b, err := e.x.Exchange(context.Background(), subject, tgt)
	require.NoError(t, err)
	assert.Equal(t, first.AccessToken, b.AccessToken)
	assert.Equal(t, uint64(2), e.x.Stats().Hits)
	if byteCacheMode() {
		assert.NotSame(t, a, b, "decoded anew on every hit")
	} else {
		assert.Same(t, first, b, "the MemoryCache keeps the Token it was given")
		assert.Same(t, a, b)
	}
}
