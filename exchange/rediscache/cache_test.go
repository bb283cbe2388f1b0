package rediscache_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"

	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/exchange/rediscache"
)

var ctx = context.Background()

// assertSameEntry checks that got is want after a round trip.
func assertSameEntry(t *testing.T, want, got *exchange.Entry) {
	t.Helper()
	require.NotNil(t, got)
	assert.Equal(t, want.Token.AccessToken, got.Token.AccessToken)
	assert.Equal(t, want.Token.RefreshToken, got.Token.RefreshToken)
	assert.Equal(t, want.Token.TokenType, got.Token.TokenType)
	assert.Equal(t, want.Token.IssuedTokenType, got.Token.IssuedTokenType)
	assert.Equal(t, want.Token.Scope, got.Token.Scope)
	assert.True(t, want.Token.Expiry.Equal(got.Token.Expiry))
	assert.True(t, want.Expires.Equal(got.Expires))
	assert.True(t, want.RefreshAt.Equal(got.RefreshAt))
}

// TestContract is the exchange.Cache and exchange.CompareAndDeleter
// contract (as exchange's own contract test checks the MemoryCache),
// against a real redis-server.
func TestContract(t *testing.T) {
	e := newEnv(t)
	c := e.cache(t, nil)
	k := keyFor("alice")
	ent := e.entry(token("access-a", 100), token("refresh-a", 50))

	got, err := c.Get(ctx, k)
	assert.Nil(t, got)
	assert.Equal(t, exchange.ErrCacheMiss, err, "a miss is ErrCacheMiss itself")

	require.NoError(t, c.Set(ctx, k, ent, time.Hour))
	got, err = c.Get(ctx, k)
	require.NoError(t, err)
	assertSameEntry(t, ent, got)
	assert.NotSame(t, ent, got)

	assert.Error(t, c.Set(ctx, k, nil, time.Hour), "a nil entry")
	assert.Error(t, c.Set(ctx, k, &exchange.Entry{}, time.Hour), "an entry without a token")
	got, err = c.Get(ctx, k)
	require.NoError(t, err, "a refused Set keeps what was stored")
	assertSameEntry(t, ent, got)

	other := e.entry(token("access-b", 100), "")
	require.NoError(t, c.Set(ctx, k, other, time.Hour), "Set replaces")
	got, err = c.Get(ctx, k)
	require.NoError(t, err)
	assertSameEntry(t, other, got)

	require.NoError(t, c.Set(ctx, k, ent, 0), "a zero TTL removes the entry")
	_, err = c.Get(ctx, k)
	assert.ErrorIs(t, err, exchange.ErrCacheMiss)

	require.NoError(t, c.Set(ctx, k, ent, time.Hour))
	require.NoError(t, c.Delete(ctx, k))
	_, err = c.Get(ctx, k)
	assert.ErrorIs(t, err, exchange.ErrCacheMiss)
	require.NoError(t, c.Delete(ctx, k), "deleting what is absent is no error")
}

func TestCompareAndDelete(t *testing.T) {
	e := newEnv(t)
	c := e.cache(t, nil)
	k := keyFor("alice")
	ent := e.entry(token("access-a", 100), "")
	holds := func(access string) func(*exchange.Entry) bool {
		return func(x *exchange.Entry) bool { return x.Token.AccessToken == access }
	}

	removed, err := c.CompareAndDelete(ctx, k, holds(ent.Token.AccessToken))
	require.NoError(t, err)
	assert.False(t, removed, "no entry is not an error")

	require.NoError(t, c.Set(ctx, k, ent, time.Hour))
	removed, err = c.CompareAndDelete(ctx, k, holds("another token"))
	require.NoError(t, err)
	assert.False(t, removed, "no match")
	_, err = c.Get(ctx, k)
	require.NoError(t, err, "an entry that does not match stays")

	removed, err = c.CompareAndDelete(ctx, k, holds(ent.Token.AccessToken))
	require.NoError(t, err)
	assert.True(t, removed)
	_, err = c.Get(ctx, k)
	assert.ErrorIs(t, err, exchange.ErrCacheMiss)

	// Another replica stores a new token between the read and the
	// delete: the new token survives.
	require.NoError(t, c.Set(ctx, k, ent, time.Hour))
	replica := e.cache(t, nil)
	newer := e.entry(token("access-newer", 100), "")
	removed, err = c.CompareAndDelete(ctx, k, func(x *exchange.Entry) bool {
		require.NoError(t, replica.Set(ctx, k, newer, time.Hour))
		return x.Token.AccessToken == ent.Token.AccessToken
	})
	require.NoError(t, err)
	assert.False(t, removed, "the value changed after it was read")
	got, err := c.Get(ctx, k)
	require.NoError(t, err)
	assertSameEntry(t, newer, got)

	assert.Equal(t, int64(1), e.metrics.Int64(t, "tokenexchange.rediscache.operations",
		attribute.String("tokenexchange.operation", "compare_and_delete"), attribute.String("tokenexchange.outcome", "ok")))
	assert.Equal(t, int64(3), e.metrics.Int64(t, "tokenexchange.rediscache.operations",
		attribute.String("tokenexchange.operation", "compare_and_delete"), attribute.String("tokenexchange.outcome", "miss")))
}

// TestTTL: SET with PX, never beyond the entry's Expires.
func TestTTL(t *testing.T) {
	tests := []struct {
		name     string
		ttl      time.Duration
		expires  time.Duration // from now
		min, max time.Duration // of the PTTL Redis reports
		stored   bool
	}{
		{"ttl shorter than the entry", 10 * time.Minute, time.Hour, 9 * time.Minute, 10 * time.Minute, true},
		{"entry shorter than the ttl", time.Hour, 2 * time.Minute, time.Minute, 2 * time.Minute, true},
		{"entry expired", time.Hour, -time.Second, 0, 0, false},
		{"under a millisecond left", time.Hour, 500 * time.Microsecond, 0, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			c := e.cache(t, nil)
			k := keyFor("alice")
			require.NoError(t, c.Set(ctx, k, e.entry("previous", ""), time.Hour))
			ent := e.entry(token("access", 100), "")
			ent.Expires = e.clock.Now().Add(tc.expires)
			require.NoError(t, c.Set(ctx, k, ent, tc.ttl))
			pttl, err := e.raw.Do(ctx, e.raw.B().Pttl().Key(c.RedisKey(k)).Build()).AsInt64()
			require.NoError(t, err)
			if !tc.stored {
				assert.Equal(t, int64(-2), pttl, "not stored, and the previous entry removed")
				return
			}
			assert.LessOrEqual(t, pttl, tc.max.Milliseconds())
			assert.Greater(t, pttl, tc.min.Milliseconds())
		})
	}
}

// TestTTLHonoured: Redis drops the value when its PX runs out.
func TestTTLHonoured(t *testing.T) {
	e := newEnv(t)
	c := e.cache(t, nil)
	k := keyFor("alice")
	require.NoError(t, c.Set(ctx, k, e.entry("access", ""), 20*time.Millisecond))
	_, ok := e.rawGet(t, c.RedisKey(k))
	require.True(t, ok)
	// Redis expires the key itself: wait for the moment, not a counter.
	time.Sleep(40 * time.Millisecond)
	_, ok = e.rawGet(t, c.RedisKey(k))
	assert.False(t, ok, "expired by Redis")
	_, err := c.Get(ctx, k)
	assert.ErrorIs(t, err, exchange.ErrCacheMiss)
}

func TestNamespace(t *testing.T) {
	e := newEnv(t)
	def := e.cache(t, nil)
	other := e.cache(t, func(o *rediscache.Options) { o.Namespace = "gw2:" })
	k := keyFor("alice")
	assert.Equal(t, "tokenexchange:"+hexKey(k), def.RedisKey(k))
	assert.Equal(t, "gw2:"+hexKey(k), other.RedisKey(k))

	require.NoError(t, def.Set(ctx, k, e.entry("access-def", ""), time.Hour))
	_, err := other.Get(ctx, k)
	assert.ErrorIs(t, err, exchange.ErrCacheMiss, "another namespace")
	require.NoError(t, other.Set(ctx, k, e.entry("access-other", ""), time.Hour))
	assert.ElementsMatch(t, []string{def.RedisKey(k), other.RedisKey(k)}, e.allKeys(t))
	got, err := def.Get(ctx, k)
	require.NoError(t, err)
	assert.Equal(t, "access-def", got.Token.AccessToken)
	require.NoError(t, other.Delete(ctx, k))
	_, err = def.Get(ctx, k)
	require.NoError(t, err, "a Delete in another namespace leaves this one")
}

func hexKey(k exchange.Key) string {
	const digits = "0123456789abcdef"
	var b strings.Builder
	for _, x := range k {
		b.WriteByte(digits[x>>4])
		b.WriteByte(digits[x&15])
	}
	return b.String()
}

// TestRawContentsHoldNoToken reads every key and value of Redis raw and
// searches them for the tokens stored.
func TestRawContentsHoldNoToken(t *testing.T) {
	e := newEnv(t)
	c := e.cache(t, nil)
	var secrets []string
	for _, name := range []string{"alice", "bob", "carol"} {
		access, refresh := token("access-"+name, 1024), token("refresh-"+name, 300)
		secrets = append(secrets, access, refresh)
		// The key of a real entry is a hash of the subject token; here
		// of a name, which must not appear either.
		require.NoError(t, c.Set(ctx, keyFor(name), e.entry(access, refresh), time.Hour))
	}
	keys := e.allKeys(t)
	require.Len(t, keys, 3)
	for _, k := range keys {
		for _, name := range []string{"alice", "bob", "carol"} {
			assert.NotContains(t, k, name)
		}
		v, ok := e.rawGet(t, k)
		require.True(t, ok)
		for _, s := range secrets {
			assert.NotContains(t, k, s)
			assert.NotContains(t, string(v), s)
			// Not even a piece of a token.
			assert.NotContains(t, string(v), s[:16])
		}
		assert.NotContains(t, string(v), "xxxxxxxx", "the tokens' padding")
		assert.NotContains(t, string(v), "Bearer")
	}
}
