package rediscache_test

import (
	"context"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/exchange/rediscache"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// fleet is one Redis, one authority, and replicas: each an Exchanger with
// its own in-process tier and its own rediscache.Cache (its own client, as
// a separate process would have) on the shared Redis.
type fleet struct {
	e      *env
	a      *testutil.Authority
	tgt    exchange.Target
	xs     []*exchange.Exchanger
	cs     []*rediscache.Cache
	firsts []*keyedCache
}

// fleetConfig configures newFleet.
type fleetConfig struct {
	replicas int
	opts     exchange.Options
	mod      func(*rediscache.Options)
	// transport wraps the HTTP transport of replica i, when set.
	transport func(i int, base http.RoundTripper) http.RoundTripper
	// optsFor changes the options of replica i, when set.
	optsFor func(i int, o *exchange.Options)
}

func newFleet(t testing.TB, cfg fleetConfig) *fleet {
	t.Helper()
	e := newEnv(t)
	a := testutil.NewAuthority(t, testutil.Options{Algorithm: testutil.ES256, Now: e.clock.Now, TokenLifetime: 5 * time.Minute})
	a.AddClient(testutil.Client{ID: "gateway", Secret: "gateway-secret", ExchangeAudiences: []string{"api-a"}})
	f := &fleet{e: e, a: a, tgt: exchange.Target{Audiences: []string{"api-a"}}}
	for i := range cfg.replicas {
		f.add(t, cfg, i)
	}
	return f
}

// add starts replica i.
func (f *fleet) add(t testing.TB, cfg fleetConfig, i int) *exchange.Exchanger {
	t.Helper()
	hc := f.a.Client()
	if cfg.transport != nil {
		hc = &http.Client{Transport: cfg.transport(i, hc.Transport)}
	}
	client, err := authority.New(authority.Config{
		TokenURL: f.a.TokenURL(), ClientID: "gateway", ClientSecret: "gateway-secret",
		HTTPClient: hc, Now: f.e.clock.Now,
	})
	require.NoError(t, err)
	c := f.e.cache(t, cfg.mod)
	mc, err := exchange.NewMemoryCache(exchange.MemoryOptions{Now: f.e.clock.Now})
	require.NoError(t, err)
	t.Cleanup(mc.Close)
	first := &keyedCache{Cache: mc}
	opts := cfg.opts
	opts.Cache, opts.Shared, opts.Now = first, c, f.e.clock.Now
	if cfg.optsFor != nil {
		cfg.optsFor(i, &opts)
	}
	x, err := exchange.New(client, opts)
	require.NoError(t, err)
	t.Cleanup(x.Close)
	f.xs, f.cs, f.firsts = append(f.xs, x), append(f.cs, c), append(f.firsts, first)
	return x
}

// subject issues a subject token for sub, valid for an hour.
func (f *fleet) subject(sub string) authority.SubjectToken {
	return authority.NewSubjectToken(f.a.IssueToken(testutil.TokenClaims{
		Subject: sub, ClientID: "frontend", Audience: []string{"gateway"}, Scope: "read",
		Expiry: f.e.clock.Now().Add(time.Hour),
	}))
}

// exchanges counts the token exchanges the authority answered.
func (f *fleet) exchanges() int { return f.a.Count(testutil.GrantTokenExchange) }

// exchange asks replica i for a token for sub, failing the test on error.
func (f *fleet) exchange(t testing.TB, i int, sub authority.SubjectToken) *authority.Token {
	t.Helper()
	tok, err := f.xs[i].Exchange(ctx, sub, f.tgt)
	require.NoError(t, err)
	return tok
}

// waitSubscribed waits until n subscriptions listen on the invalidations
// channel.
func (f *fleet) waitSubscribed(t testing.TB, n int64) {
	t.Helper()
	testutil.WaitFor(t, "the replicas' subscriptions", func() bool {
		v, err := f.e.r.Do("PUBSUB", "NUMSUB", rediscache.DefaultNamespace+"invalidations")
		if err != nil {
			return false
		}
		arr, ok := v.([]any)
		return ok && len(arr) == 2 && arr[1] == n
	})
}

// keyedCache is an in-process tier that remembers the keys set in it, so
// a test can put an entry under a key it cannot compute.
type keyedCache struct {
	exchange.Cache
	mu   sync.Mutex
	keys []exchange.Key
}

func (k *keyedCache) Set(ctx context.Context, key exchange.Key, e *exchange.Entry, ttl time.Duration) error {
	k.mu.Lock()
	k.keys = append(k.keys, key)
	k.mu.Unlock()
	return k.Cache.Set(ctx, key, e, ttl)
}

func (k *keyedCache) CompareAndDelete(ctx context.Context, key exchange.Key, match func(*exchange.Entry) bool) (bool, error) {
	return k.Cache.(exchange.CompareAndDeleter).CompareAndDelete(ctx, key, match)
}

func (k *keyedCache) lastKey() exchange.Key {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.keys[len(k.keys)-1]
}

// TestFleetSingleFlight: 3 replicas × 300 concurrent requests for one new
// subject make exactly one exchange; every caller gets the same token.
func TestFleetSingleFlight(t *testing.T) {
	const replicas, perReplica = 3, 300
	// 900 goroutines under the race detector on 2 cores: a Redis call
	// (the first one dials) may take longer than the default 50ms, which
	// makes a replica exchange itself; this test is of the coordination.
	f := newFleet(t, fleetConfig{replicas: replicas, mod: func(o *rediscache.Options) { o.OpTimeout = 2 * time.Second }})
	sub := f.subject("alice")
	start := make(chan struct{})
	var wg sync.WaitGroup
	tokens := make([]string, replicas*perReplica)
	lookups := make([]exchange.Lookup, replicas*perReplica)
	for r := range replicas {
		for i := range perReplica {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				var rec exchange.LookupRecorder
				tok, err := f.xs[r].Exchange(exchange.ContextWithLookupRecorder(ctx, &rec), sub, f.tgt)
				if assert.NoError(t, err) {
					tokens[r*perReplica+i] = tok.AccessToken
				}
				lookups[r*perReplica+i] = rec.Last()
			}()
		}
	}
	close(start)
	wg.Wait()
	assert.Equal(t, 1, f.exchanges(), "one exchange for the fleet")
	for _, tok := range tokens {
		require.Equal(t, tokens[0], tok)
	}
	var shared, exchangers uint64
	for r, x := range f.xs {
		st := x.Stats()
		assert.Equal(t, uint64(perReplica), st.Hits+st.Misses, "replica %d", r)
		assert.Zero(t, st.SharedErrors+st.CacheErrors, "replica %d", r)
		shared += st.SharedHits
		exchangers += st.Exchanges
	}
	assert.Equal(t, uint64(1), exchangers)
	assert.GreaterOrEqual(t, shared, uint64(replicas-1), "the other replicas' flights came from Redis")
	n := 0
	for _, l := range lookups {
		if l == exchange.LookupSharedHit {
			n++
		}
	}
	assert.Equal(t, int(shared), n, "every shared hit recorded for the access log")
	f.noTokenInRedis(t, tokens[0])
}

// noTokenInRedis checks that no key or value in Redis holds a token.
func (f *fleet) noTokenInRedis(t *testing.T, tokens ...string) {
	t.Helper()
	keys := f.e.allKeys(t)
	require.NotEmpty(t, keys)
	for _, k := range keys {
		v, _ := f.e.rawGet(t, k)
		for _, tok := range tokens {
			assert.NotContains(t, k, tok)
			assert.NotContains(t, string(v), tok)
			assert.NotContains(t, string(v), tok[len(tok)-16:])
		}
	}
}

// gate holds the requests of one replica while hold is set, signalling
// each it holds, until release is closed.
type gate struct {
	base    http.RoundTripper
	hold    atomic.Bool
	arrived chan struct{}
	release chan struct{}
}

func (g *gate) RoundTrip(r *http.Request) (*http.Response, error) {
	if g.hold.Load() {
		g.arrived <- struct{}{}
		select {
		case <-g.release:
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	}
	return g.base.RoundTrip(r)
}

// TestFleetRefreshAhead (fake clock): 3 replicas hit an entry due for
// refresh; one refreshes (it holds the fleet-wide lock), the others skip
// and keep serving the current token, then adopt the new token from Redis
// at their next attempt: one refresh exchange for the fleet.
func TestFleetRefreshAhead(t *testing.T) {
	g := &gate{arrived: make(chan struct{}, 1), release: make(chan struct{})}
	f := newFleet(t, fleetConfig{
		replicas: 3,
		// Refresh at half of the life: 4m30s (5 min - 30s skew) / 2.
		opts: exchange.Options{RefreshAhead: 0.5, RefreshJitter: -1},
		transport: func(i int, base http.RoundTripper) http.RoundTripper {
			if i == 0 {
				g.base = base
				return g
			}
			return base
		},
	})
	const refreshDue = 135 * time.Second
	const refreshRetry = 5 * time.Second
	sub := f.subject("alice")
	old := f.exchange(t, 0, sub)
	for i := 1; i < 3; i++ {
		assert.Equal(t, old.AccessToken, f.exchange(t, i, sub).AccessToken, "from Redis")
	}
	require.Equal(t, 1, f.exchanges())

	f.e.clock.Advance(refreshDue)
	g.hold.Store(true)
	assert.Equal(t, old.AccessToken, f.exchange(t, 0, sub).AccessToken)
	<-g.arrived // replica 0 refreshes, holding the lock
	for i := 1; i < 3; i++ {
		assert.Equal(t, old.AccessToken, f.exchange(t, i, sub).AccessToken, "the current token is served")
	}
	testutil.WaitFor(t, "replicas 1 and 2 to skip their refresh", func() bool {
		return f.xs[1].Stats().RefreshSkipped == 1 && f.xs[2].Stats().RefreshSkipped == 1
	})
	g.hold.Store(false)
	close(g.release)
	var fresh *authority.Token
	testutil.WaitFor(t, "replica 0's refresh", func() bool {
		fresh = f.exchange(t, 0, sub)
		return fresh.AccessToken != old.AccessToken
	})
	for i := 1; i < 3; i++ {
		assert.Equal(t, old.AccessToken, f.exchange(t, i, sub).AccessToken, "no new attempt before refreshRetry")
	}
	f.e.clock.Advance(refreshRetry)
	for i := 1; i < 3; i++ {
		testutil.WaitFor(t, "the new token adopted", func() bool {
			return f.exchange(t, i, sub).AccessToken == fresh.AccessToken
		})
		st := f.xs[i].Stats()
		assert.Equal(t, uint64(1), st.RefreshAdopted, "replica %d", i)
		assert.Zero(t, st.Refreshes, "replica %d made no refresh exchange", i)
		assert.Equal(t, uint64(1), st.LocksLost, "replica %d", i)
	}
	assert.Equal(t, 2, f.exchanges(), "one refresh for the fleet")
	assert.Equal(t, uint64(1), f.xs[0].Stats().Refreshes)
}

// TestFleetInvalidation: replica 0 invalidates a refused token; the entry
// leaves Redis and replica 1's in-process tier, while replica 2, already
// holding a newer token, keeps it. The invalidation names the token by
// its fingerprint only.
func TestFleetInvalidation(t *testing.T) {
	f := newFleet(t, fleetConfig{replicas: 3})
	f.waitSubscribed(t, 3)
	sub := f.subject("alice")
	refused := f.exchange(t, 0, sub)
	for i := 1; i < 3; i++ {
		require.Equal(t, refused.AccessToken, f.exchange(t, i, sub).AccessToken)
	}
	require.Len(t, f.e.allKeys(t), 1)

	// Replica 2 already holds a newer token (as after its own re-exchange).
	newer := f.e.entry(token("newer", 200), "")
	key := f.firsts[2].lastKey()
	require.NoError(t, f.firsts[2].Set(ctx, key, newer, time.Hour))

	// A raw subscriber sees what travels.
	msgs := make(chan string, 4)
	rctx, stop := context.WithCancel(ctx)
	t.Cleanup(stop) // ends the subscriber should the test stop early
	received := make(chan error, 1)
	go func() {
		received <- f.e.raw.Receive(rctx, f.e.raw.B().Subscribe().Channel(rediscache.DefaultNamespace+"invalidations").Build(),
			func(m rueidis.PubSubMessage) { msgs <- m.Message })
	}()
	f.waitSubscribed(t, 4)

	require.True(t, f.xs[0].Invalidate(ctx, sub, f.tgt, refused))
	assert.Empty(t, f.e.allKeys(t), "the entry left Redis")

	var msg string
	select {
	case msg = <-msgs:
	case <-time.After(10 * time.Second):
		t.Fatal("the raw subscriber received no invalidation")
	}
	stop()
	<-received
	fp := exchange.FingerprintOf(refused)
	assert.True(t, strings.HasSuffix(msg, ":"+hex.EncodeToString(fp[:])), msg)
	assert.Len(t, msg, 64+1+32)
	assert.NotContains(t, msg, refused.AccessToken[:16])

	for i := range 3 {
		testutil.WaitFor(t, "the invalidation to reach every replica", func() bool {
			return f.xs[i].Stats().InvalidationsReceived == 1
		})
	}
	assert.Equal(t, uint64(1), f.xs[1].Stats().InvalidationsApplied, "replica 1 dropped the refused token")
	assert.Zero(t, f.xs[2].Stats().InvalidationsApplied, "replica 2 kept its newer token")
	assert.Equal(t, newer.Token.AccessToken, f.exchange(t, 2, sub).AccessToken)
	assert.Equal(t, uint64(1), f.xs[0].Stats().InvalidationsPublished)

	again := f.exchange(t, 1, sub)
	assert.NotEqual(t, refused.AccessToken, again.AccessToken, "the refused token is not served again")
	assert.Equal(t, 2, f.exchanges())
	assert.Equal(t, again.AccessToken, f.exchange(t, 0, sub).AccessToken, "replica 0 takes the new one from Redis")
}

// TestFleetRedisKilled: with Redis killed mid-test every request keeps
// succeeding on per-replica behaviour; once Redis is back (and the
// breaker has closed) a new subject is exchanged once for the fleet again.
func TestFleetRedisKilled(t *testing.T) {
	f := newFleet(t, fleetConfig{replicas: 2, mod: func(o *rediscache.Options) {
		o.OpTimeout = testOpTimeout
		o.BreakerThreshold = 2
		o.BreakerCooldown = time.Second
		o.BreakerMaxCooldown = time.Second
	}})
	alice := f.subject("alice")
	ta := f.exchange(t, 0, alice)
	require.Equal(t, ta.AccessToken, f.exchange(t, 1, alice).AccessToken)
	require.Equal(t, 1, f.exchanges())

	f.e.r.Kill()
	bob := f.subject("bob")
	for i := range 2 {
		for range 3 {
			start := time.Now()
			f.exchange(t, i, bob)
			assert.Less(t, time.Since(start), 4*(testOpTimeout+slack))
		}
		assert.Equal(t, ta.AccessToken, f.exchange(t, i, alice).AccessToken, "the in-process tier serves")
	}
	assert.Equal(t, 3, f.exchanges(), "each replica exchanged bob itself")
	for i := range 2 {
		assert.Positive(t, f.xs[i].Stats().SharedErrors)
	}

	f.e.r.Restart()
	for i := range 2 {
		testutil.WaitFor(t, "the breaker to close", func() bool {
			f.e.clock.Advance(time.Second)
			_, err := f.cs[i].Get(ctx, keyFor("probe"))
			return errors.Is(err, exchange.ErrCacheMiss)
		})
	}
	carol := f.subject("carol")
	tc := f.exchange(t, 0, carol)
	assert.Equal(t, tc.AccessToken, f.exchange(t, 1, carol).AccessToken)
	assert.Equal(t, 4, f.exchanges(), "one exchange for the fleet again")
}

// TestFleetTamperedAndMoved: through the Exchanger, a value moved under
// another subject's key and a tampered value are never served.
func TestFleetTamperedAndMoved(t *testing.T) {
	cfg := fleetConfig{replicas: 1}
	f := newFleet(t, cfg)
	alice, bob := f.subject("alice"), f.subject("bob")
	ta := f.exchange(t, 0, alice)
	aliceKey := f.e.allKeys(t)[0]
	tb := f.exchange(t, 0, bob)
	var bobKey string
	for _, k := range f.e.allKeys(t) {
		if k != aliceKey {
			bobKey = k
		}
	}
	aliceVal, _ := f.e.rawGet(t, aliceKey)

	// Moved: alice's value under bob's key, read by a new replica.
	f.e.rawSet(t, bobKey, aliceVal)
	x1 := f.add(t, cfg, 1)
	got, err := x1.Exchange(ctx, bob, f.tgt)
	require.NoError(t, err)
	assert.NotEqual(t, ta.AccessToken, got.AccessToken, "never alice's token for bob")
	assert.NotEqual(t, tb.AccessToken, got.AccessToken)
	assert.Equal(t, 3, f.exchanges(), "a miss: bob exchanged again")

	// Tampered: one byte of alice's ciphertext flipped.
	bad := append([]byte(nil), aliceVal...)
	bad[len(bad)-20] ^= 1
	f.e.rawSet(t, aliceKey, bad)
	x2 := f.add(t, cfg, 2)
	got, err = x2.Exchange(ctx, alice, f.tgt)
	require.NoError(t, err)
	assert.NotEqual(t, ta.AccessToken, got.AccessToken, "the tampered value is not served")
	assert.Equal(t, 4, f.exchanges())
	assert.Zero(t, x2.Stats().SharedHits)
}

// TestLockValueHoldsNoToken: the lock's value is a random fencing value
// in hex; unlock removes only its own lock.
func TestLockValueHoldsNoToken(t *testing.T) {
	e := newEnv(t)
	c := e.cache(t, nil)
	k := keyFor("alice")
	unlock, ok, err := c.TryLock(ctx, k, time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	_, ok, err = c.TryLock(ctx, k, time.Minute)
	require.NoError(t, err)
	assert.False(t, ok, "held")
	keys := e.allKeys(t)
	require.Len(t, keys, 1)
	assert.True(t, strings.HasPrefix(keys[0], rediscache.DefaultNamespace+"lock:"), keys[0])
	v, _ := e.rawGet(t, keys[0])
	assert.Regexp(t, "^[0-9a-f]{32}$", string(v))

	// The lock expired and another replica took it: unlock leaves it.
	_, err = e.r.Do("DEL", keys[0])
	require.NoError(t, err)
	_, ok, err = c.TryLock(ctx, k, time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	unlock(ctx)
	_, held := e.rawGet(t, keys[0])
	assert.True(t, held, "another's lock survives")
}
