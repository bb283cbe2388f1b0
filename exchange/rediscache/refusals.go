package rediscache

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"
)

// Refusals is the Cache's memory of refusal windows: an
// outbound.RefusalMemory (the transport's record that a downstream
// refused even a fresh token for a route and subject, see
// outbound.Options.RefusalWindow) in the same Redis, so that such a
// window holds for every replica of a fleet. Get it with
// [Cache.Refusals].
//
// A window for the key k (a SHA-256 digest the transport computes from
// the route and the subject: never a token) is the Redis key Namespace +
// "refusal:" + hex(k) holding "1", set with SET ... PX for the window's
// length and read with PTTL, so that Redis's clock, not the replicas',
// says how long it stays open. Calls go through the Cache's circuit
// breaker and have its Options.OpTimeout, and are counted in its
// tokenexchange.rediscache.operations (operation remember_refusal and
// recall_refusal).
type Refusals struct{ c *Cache }

// Refusals returns the refusal memory kept in the Cache's Redis.
func (c *Cache) Refusals() *Refusals { return &Refusals{c: c} }

// refusalKey is the Redis key of the refusal window of key. The infix
// keeps it apart from the entries (Namespace + 64 hex digits), the locks
// and the invalidation channel.
func (c *Cache) refusalKey(key [32]byte) string {
	return c.ns + "refusal:" + hex.EncodeToString(key[:])
}

// Remember records that a refusal window is open for key for ttl: SET
// key 1 PX ttl. A window under a millisecond is not stored. It returns
// [ErrUnavailable] while the breaker is open.
func (r *Refusals) Remember(ctx context.Context, key [32]byte, ttl time.Duration) error {
	ms := ttl.Milliseconds()
	if ms < 1 {
		return nil
	}
	c := r.c
	trial, err := c.admit(ctx, opRememberRefusal)
	if err != nil {
		return err
	}
	start := time.Now()
	dctx, cancel := context.WithTimeout(ctx, c.opTimeout)
	err = c.client.Do(dctx, c.client.B().Set().Key(c.refusalKey(key)).Value("1").PxMilliseconds(ms).Build()).Error()
	cancel()
	if err != nil {
		c.finish(ctx, trial, opRememberRefusal, outcomeError, start, err)
		return fmt.Errorf("rediscache: refusal window: SET: %w", err)
	}
	c.finish(ctx, trial, opRememberRefusal, outcomeOK, start, nil)
	return nil
}

// Recall returns how long the refusal window of key stays open (its
// PTTL), 0 when none is. It returns [ErrUnavailable] while the breaker
// is open.
func (r *Refusals) Recall(ctx context.Context, key [32]byte) (time.Duration, error) {
	c := r.c
	trial, err := c.admit(ctx, opRecallRefusal)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	dctx, cancel := context.WithTimeout(ctx, c.opTimeout)
	n, err := c.client.Do(dctx, c.client.B().Pttl().Key(c.refusalKey(key)).Build()).AsInt64()
	cancel()
	if err != nil {
		c.finish(ctx, trial, opRecallRefusal, outcomeError, start, err)
		return 0, fmt.Errorf("rediscache: refusal window: PTTL: %w", err)
	}
	if n <= 0 { // no such key (-2), or one without expiry (-1): not ours
		c.finish(ctx, trial, opRecallRefusal, outcomeMiss, start, nil)
		return 0, nil
	}
	c.finish(ctx, trial, opRecallRefusal, outcomeHit, start, nil)
	return time.Duration(n) * time.Millisecond, nil
}
