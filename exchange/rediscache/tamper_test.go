package rediscache_test

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"

	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/exchange/rediscache"
)

// Offsets in a stored value (see the package doc).
const (
	offVersion    = 0
	offKeyID      = 1
	offNonce      = 9
	offCiphertext = 21
)

func tampered(t *testing.T, e *env, reason string) int64 {
	t.Helper()
	return e.metrics.Int64(t, "tokenexchange.rediscache.tampered", attribute.String("tokenexchange.reason", reason))
}

// TestTamperedValue: a value changed in Redis is a miss; one that fails
// authentication under a known key or is malformed is also deleted and
// counted; one of another version or key id is left in place.
func TestTamperedValue(t *testing.T) {
	tests := []struct {
		name    string
		change  func([]byte) []byte
		deleted bool
		reason  string // counted as tampered; "" for none
	}{
		{"nonce", flipAt(offNonce + 3), true, "auth_failed"},
		{"ciphertext", flipAt(offCiphertext + 10), true, "auth_failed"},
		{"tag", func(v []byte) []byte { return flipAt(len(v) - 1)(v) }, true, "auth_failed"},
		{"truncated", func(v []byte) []byte { return v[:len(v)-1] }, true, "auth_failed"},
		{"too short", func(v []byte) []byte { return v[:20] }, true, "malformed"},
		{"empty", func([]byte) []byte { return []byte{} }, true, "malformed"},
		{"version", flipAt(offVersion), false, ""},
		{"key id", flipAt(offKeyID), false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			c := e.cache(t, nil)
			k := keyFor("alice")
			require.NoError(t, c.Set(ctx, k, e.entry(token("access", 200), ""), time.Hour))
			v, ok := e.rawGet(t, c.RedisKey(k))
			require.True(t, ok)
			e.rawSet(t, c.RedisKey(k), tc.change(v))

			got, err := c.Get(ctx, k)
			assert.Nil(t, got, "never served")
			assert.ErrorIs(t, err, exchange.ErrCacheMiss)
			_, still := e.rawGet(t, c.RedisKey(k))
			assert.Equal(t, !tc.deleted, still, "deleted")
			for _, r := range []string{"auth_failed", "malformed", "expired"} {
				want := int64(0)
				if r == tc.reason {
					want = 1
				}
				assert.Equal(t, want, tampered(t, e, r), r)
			}
		})
	}
}

func flipAt(i int) func([]byte) []byte {
	return func(v []byte) []byte {
		w := append([]byte(nil), v...)
		w[i] ^= 0x01
		return w
	}
}

// TestValueMovedToAnotherKey: a value copied under another key (another
// subject's) fails to open there, is deleted there and counted, and the
// original is still served.
func TestValueMovedToAnotherKey(t *testing.T) {
	e := newEnv(t)
	c := e.cache(t, nil)
	alice, mallory := keyFor("alice"), keyFor("mallory")
	require.NoError(t, c.Set(ctx, alice, e.entry(token("access-alice", 200), ""), time.Hour))
	require.NoError(t, c.Set(ctx, mallory, e.entry(token("access-mallory", 200), ""), time.Hour))
	v, _ := e.rawGet(t, c.RedisKey(alice))
	e.rawSet(t, c.RedisKey(mallory), v)

	got, err := c.Get(ctx, mallory)
	assert.Nil(t, got)
	assert.ErrorIs(t, err, exchange.ErrCacheMiss)
	_, still := e.rawGet(t, c.RedisKey(mallory))
	assert.False(t, still, "deleted")
	assert.Equal(t, int64(1), tampered(t, e, "auth_failed"))

	got, err = c.Get(ctx, alice)
	require.NoError(t, err)
	assert.Equal(t, token("access-alice", 200), got.Token.AccessToken)

	// A compare-and-delete of the moved value removes it too, and
	// reports no entry.
	e.rawSet(t, c.RedisKey(mallory), v)
	removed, err := c.CompareAndDelete(ctx, mallory, func(*exchange.Entry) bool { return true })
	require.NoError(t, err)
	assert.False(t, removed)
	_, still = e.rawGet(t, c.RedisKey(mallory))
	assert.False(t, still, "deleted")
	assert.Equal(t, int64(2), tampered(t, e, "auth_failed"))
}

// TestUnknownKeyID: a replica given only the new key does not read a
// value sealed with the old one, and leaves it for the replicas that can.
func TestUnknownKeyID(t *testing.T) {
	e := newEnv(t)
	old := e.cache(t, func(o *rediscache.Options) { o.Keys = [][]byte{oldKey} })
	replica := e.cache(t, func(o *rediscache.Options) { o.Keys = [][]byte{newKey} })
	k := keyFor("alice")
	require.NoError(t, old.Set(ctx, k, e.entry("access", ""), time.Hour))

	got, err := replica.Get(ctx, k)
	assert.Nil(t, got)
	assert.ErrorIs(t, err, exchange.ErrCacheMiss)
	_, still := e.rawGet(t, old.RedisKey(k))
	assert.True(t, still, "not deleted")
	for _, r := range []string{"auth_failed", "malformed", "expired"} {
		assert.Zero(t, tampered(t, e, r), r)
	}
	got, err = old.Get(ctx, k)
	require.NoError(t, err)
	assert.Equal(t, "access", got.Token.AccessToken)
}

// TestKeyRotation: with Keys [new, old], values sealed with the old key
// are read, new values are sealed with the new key; the key id depends
// on the key, not its position.
func TestKeyRotation(t *testing.T) {
	e := newEnv(t)
	before := e.cache(t, func(o *rediscache.Options) { o.Keys = [][]byte{oldKey} })
	during := e.cache(t, func(o *rediscache.Options) { o.Keys = [][]byte{newKey, oldKey} })
	after := e.cache(t, func(o *rediscache.Options) { o.Keys = [][]byte{newKey} })
	a, b := keyFor("alice"), keyFor("bob")
	require.NoError(t, before.Set(ctx, a, e.entry("access-a", ""), time.Hour))

	got, err := during.Get(ctx, a)
	require.NoError(t, err, "decrypted with the old key")
	assert.Equal(t, "access-a", got.Token.AccessToken)

	require.NoError(t, during.Set(ctx, b, e.entry("access-b", ""), time.Hour))
	v, _ := e.rawGet(t, during.RedisKey(b))
	sum := sha256.Sum256(newKey)
	assert.Equal(t, sum[:8], v[offKeyID:offKeyID+8], "sealed with the first key, named by its SHA-256")
	got, err = after.Get(ctx, b)
	require.NoError(t, err)
	assert.Equal(t, "access-b", got.Token.AccessToken)

	_, err = before.Get(ctx, b)
	assert.ErrorIs(t, err, exchange.ErrCacheMiss, "a replica without the new key")
	_, still := e.rawGet(t, during.RedisKey(b))
	assert.True(t, still, "and it leaves the value")
}

// TestExpiredEntry: an entry past its Expires on the Cache's clock is a
// miss, deleted and counted, even while Redis still holds it.
func TestExpiredEntry(t *testing.T) {
	e := newEnv(t)
	c := e.cache(t, nil)
	k := keyFor("alice")
	ent := e.entry("access", "")
	require.NoError(t, c.Set(ctx, k, ent, time.Hour))
	e.clock.Set(ent.Expires)

	got, err := c.Get(ctx, k)
	assert.Nil(t, got)
	assert.ErrorIs(t, err, exchange.ErrCacheMiss)
	_, still := e.rawGet(t, c.RedisKey(k))
	assert.False(t, still, "deleted")
	assert.Equal(t, int64(1), tampered(t, e, "expired"))
}

// TestMalformedEntry: a value that authenticates but does not hold an
// encoded entry (written with the right key by something else) is a miss,
// deleted and counted as malformed. It also checks the documented layout.
func TestMalformedEntry(t *testing.T) {
	e := newEnv(t)
	c := e.cache(t, nil)
	k := keyFor("alice")
	block, err := aes.NewCipher(oldKey)
	require.NoError(t, err)
	aead, err := cipher.NewGCM(block)
	require.NoError(t, err)
	sum := sha256.Sum256(oldKey)
	nonce := make([]byte, 12)
	val := append([]byte{1}, sum[:8]...)
	val = append(val, nonce...)
	rk := c.RedisKey(k)

	// First the layout: a real entry sealed by hand is served.
	good, err := e.entry("access", "").MarshalBinary()
	require.NoError(t, err)
	e.rawSet(t, rk, aead.Seal(append([]byte(nil), val...), nonce, good, []byte(rk)))
	got, err := c.Get(ctx, k)
	require.NoError(t, err, "the documented layout")
	assert.Equal(t, "access", got.Token.AccessToken)

	e.rawSet(t, rk, aead.Seal(append([]byte(nil), val...), nonce, []byte("not an entry"), []byte(rk)))
	_, err = c.Get(ctx, k)
	assert.ErrorIs(t, err, exchange.ErrCacheMiss)
	_, still := e.rawGet(t, rk)
	assert.False(t, still, "deleted")
	assert.Equal(t, int64(1), tampered(t, e, "malformed"))
}
