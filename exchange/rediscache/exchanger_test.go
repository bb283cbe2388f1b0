package rediscache_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/exchange/rediscache"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// replica is one gateway's Exchanger on the shared Redis.
func replica(t *testing.T, e *env, a *testutil.Authority, mod func(*rediscache.Options)) (*exchange.Exchanger, *rediscache.Cache) {
	t.Helper()
	client, err := authority.New(authority.Config{
		TokenURL: a.TokenURL(), ClientID: "gateway", ClientSecret: "gateway-secret",
		HTTPClient: a.Client(), Now: e.clock.Now,
	})
	require.NoError(t, err)
	c := e.cache(t, mod)
	x, err := exchange.New(client, exchange.Options{Cache: c, Now: e.clock.Now})
	require.NoError(t, err)
	t.Cleanup(x.Close)
	return x, c
}

// TestExchangersShareTheStore: an Exchanger on the Cache gets from Redis
// what another one stored (one exchange for two replicas), never a token
// for another subject, and Invalidate on one removes the entry for both.
func TestExchangersShareTheStore(t *testing.T) {
	e := newEnv(t)
	a := testutil.NewAuthority(t, testutil.Options{Algorithm: testutil.ES256, Now: e.clock.Now})
	a.AddClient(testutil.Client{ID: "gateway", Secret: "gateway-secret", ExchangeAudiences: []string{"api-a"}})
	x1, _ := replica(t, e, a, nil)
	x2, _ := replica(t, e, a, nil)
	subject := func(sub string) authority.SubjectToken {
		return authority.NewSubjectToken(a.IssueToken(testutil.TokenClaims{
			Subject: sub, ClientID: "frontend", Audience: []string{"gateway"}, Scope: "read",
			Expiry: e.clock.Now().Add(time.Hour),
		}))
	}
	alice, bob := subject("alice"), subject("bob")
	tgt := exchange.Target{Audiences: []string{"api-a"}}

	t1, err := x1.Exchange(ctx, alice, tgt)
	require.NoError(t, err)
	t2, err := x2.Exchange(ctx, alice, tgt)
	require.NoError(t, err)
	assert.Equal(t, t1.AccessToken, t2.AccessToken, "from Redis")
	assert.Equal(t, 1, a.Count(testutil.GrantTokenExchange), "one exchange for two replicas")
	assert.Equal(t, uint64(1), x2.Stats().Hits)

	tb, err := x2.Exchange(ctx, bob, tgt)
	require.NoError(t, err)
	assert.NotEqual(t, t1.AccessToken, tb.AccessToken, "another subject's token")
	assert.Equal(t, 2, a.Count(testutil.GrantTokenExchange))

	// Raw Redis holds neither token.
	for _, k := range e.allKeys(t) {
		v, _ := e.rawGet(t, k)
		assert.NotContains(t, string(v), t1.AccessToken)
		assert.NotContains(t, string(v), tb.AccessToken)
	}

	assert.True(t, x1.Invalidate(ctx, alice, tgt, t1), "removed through CompareAndDelete")
	t3, err := x2.Exchange(ctx, alice, tgt)
	require.NoError(t, err)
	assert.NotEqual(t, t1.AccessToken, t3.AccessToken, "the refused token is not served again")
	assert.Equal(t, 3, a.Count(testutil.GrantTokenExchange))
	assert.Zero(t, x1.Stats().CacheErrors+x2.Stats().CacheErrors)
}

// TestExchangerWithRedisDown: with Redis killed, the Exchanger keeps
// answering (each request exchanges: no tier in front yet), counting
// cache errors, and never fails a request.
func TestExchangerWithRedisDown(t *testing.T) {
	e := newEnv(t)
	a := testutil.NewAuthority(t, testutil.Options{Algorithm: testutil.ES256, Now: e.clock.Now})
	a.AddClient(testutil.Client{ID: "gateway", Secret: "gateway-secret", ExchangeAudiences: []string{"api-a"}})
	x, _ := replica(t, e, a, func(o *rediscache.Options) { o.OpTimeout = testOpTimeout; o.BreakerThreshold = 2 })
	sub := authority.NewSubjectToken(a.UserToken("alice", "frontend", "gateway"))
	tgt := exchange.Target{Audiences: []string{"api-a"}}
	e.r.Kill()
	for range 4 {
		start := time.Now()
		_, err := x.Exchange(ctx, sub, tgt)
		require.NoError(t, err, "a cache error is a miss")
		assert.Less(t, time.Since(start), 2*(testOpTimeout+slack))
	}
	assert.Positive(t, x.Stats().CacheErrors)
}
