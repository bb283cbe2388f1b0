package rediscache_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/exchange/rediscache"
	"github.com/go-tokenexchange/tokenexchange/outbound"
)

var _ outbound.RefusalMemory = (*rediscache.Refusals)(nil)

// TestRefusals: a window remembered is recalled with the time Redis has
// left of it, under Namespace + "refusal:" + hex(key); a window under a
// millisecond is not stored; with Redis down, calls fail within
// OpTimeout and then fast once the breaker opens.
func TestRefusals(t *testing.T) {
	e := newEnv(t)
	c := e.cache(t, func(o *rediscache.Options) {
		o.Namespace = "ns:"
		o.OpTimeout = testOpTimeout
		o.BreakerThreshold = 2
	})
	m := c.Refusals()
	ctx := context.Background()
	key := [32]byte{1, 2, 3}

	ttl, err := m.Recall(ctx, key)
	require.NoError(t, err)
	assert.Zero(t, ttl, "no window yet")
	require.NoError(t, m.Remember(ctx, key, 30*time.Second))
	ttl, err = m.Recall(ctx, key)
	require.NoError(t, err)
	assert.True(t, ttl > 29*time.Second && ttl <= 30*time.Second, "recalled %v, want just under 30s", ttl)
	ttl, err = m.Recall(ctx, [32]byte{9})
	require.NoError(t, err)
	assert.Zero(t, ttl, "another key")
	require.NoError(t, m.Remember(ctx, [32]byte{7}, time.Microsecond))

	want := "ns:refusal:0102030000000000000000000000000000000000000000000000000000000000"
	assert.Equal(t, []string{want}, e.allKeys(t), "one window; none under a millisecond")
	v, ok := e.rawGet(t, want)
	require.True(t, ok)
	assert.Equal(t, "1", string(v))
	assert.Equal(t, int64(1), ops(t, e, "recall_refusal", "hit"))
	assert.Equal(t, int64(2), ops(t, e, "recall_refusal", "miss"))
	assert.Equal(t, int64(1), ops(t, e, "remember_refusal", "ok"))

	e.r.Kill()
	for i, call := range []func() error{
		func() error { _, err := m.Recall(ctx, key); return err },
		func() error { return m.Remember(ctx, key, time.Second) },
		func() error { _, err := m.Recall(ctx, key); return err },
	} {
		start := time.Now()
		err := call()
		require.Error(t, err, "call %d with Redis down", i)
		assert.Less(t, time.Since(start), testOpTimeout+slack, "call %d", i)
		if i == 2 {
			assert.True(t, errors.Is(err, rediscache.ErrUnavailable), "the breaker opened after 2 failures: %v", err)
		}
	}
}
