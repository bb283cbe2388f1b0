package rediscache

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/rueidis"

	"github.com/go-tokenexchange/tokenexchange/exchange"
)

var _ exchange.Coordinator = (*Cache)(nil)

// Polling of Wait, and back-off of the subscription's reconnections.
const (
	waitFirstPoll     = 5 * time.Millisecond
	waitMaxPoll       = 50 * time.Millisecond
	resubscribeFirst  = 50 * time.Millisecond
	resubscribeMax    = 5 * time.Second
	subscriptionStays = 10 * time.Second // a subscription that lasted resets the back-off
)

// lockKey returns the Redis key of the fleet-wide lock of key: the
// namespace, "lock:", and the key in hex. It never collides with an
// entry's key (namespace + 64 hex digits).
func (c *Cache) lockKey(key exchange.Key) string {
	return c.ns + "lock:" + hex.EncodeToString(key[:])
}

// channel is the pub/sub channel of the invalidations.
func (c *Cache) channel() string { return c.ns + "invalidations" }

// TryLock implements [exchange.Coordinator]: SET NX PX of the lock key
// with a random 16-byte fencing value (in hex; it holds nothing else).
// unlock deletes the lock only if it still holds that value (a Lua
// compare-and-delete), so a lock that expired and was taken by another
// replica stays. It goes through the circuit breaker (ErrUnavailable
// while it is open) and has Options.OpTimeout, as the other calls.
func (c *Cache) TryLock(ctx context.Context, key exchange.Key, ttl time.Duration) (unlock func(context.Context), ok bool, err error) {
	ms := ttl.Milliseconds()
	if ms <= 0 {
		return nil, false, errors.New("rediscache: TryLock needs a ttl of a millisecond or more")
	}
	var fence [16]byte
	if _, err := rand.Read(fence[:]); err != nil {
		return nil, false, fmt.Errorf("rediscache: fencing value: %w", err)
	}
	value := hex.EncodeToString(fence[:])
	lk := c.lockKey(key)
	trial, err := c.admit(ctx, opLock)
	if err != nil {
		return nil, false, err
	}
	start := time.Now()
	lctx, cancel := context.WithTimeout(ctx, c.opTimeout)
	err = c.client.Do(lctx, c.client.B().Set().Key(lk).Value(value).Nx().PxMilliseconds(ms).Build()).Error()
	cancel()
	switch {
	case rueidis.IsRedisNil(err):
		c.finish(ctx, trial, opLock, outcomeMiss, start, nil)
		return nil, false, nil
	case err != nil:
		c.finish(ctx, trial, opLock, outcomeError, start, err)
		return nil, false, fmt.Errorf("rediscache: SET NX: %w", err)
	}
	c.finish(ctx, trial, opLock, outcomeOK, start, nil)
	return func(ctx context.Context) { c.unlock(ctx, lk, value) }, true, nil
}

// unlock deletes the lock lk if it still holds value. A failure leaves
// the lock to expire.
func (c *Cache) unlock(ctx context.Context, lk, value string) {
	trial, err := c.admit(ctx, opUnlock)
	if err != nil {
		return
	}
	start := time.Now()
	uctx, cancel := context.WithTimeout(ctx, c.opTimeout)
	n, err := c.cad.Exec(uctx, c.client, []string{lk}, []string{value}).AsInt64()
	cancel()
	oc := outcomeOK
	switch {
	case err != nil:
		oc = outcomeError
	case n == 0:
		oc = outcomeMiss // expired, and maybe taken by another replica
	}
	c.finish(ctx, trial, opUnlock, oc, start, err)
}

// Wait implements [exchange.Coordinator]: it polls [Cache.Get] for key,
// every 5ms at first and doubling up to every 50ms, until it returns an
// entry, fails with anything but a miss (as while the breaker is open),
// or ctx ends. Each poll has Options.OpTimeout.
func (c *Cache) Wait(ctx context.Context, key exchange.Key) (*exchange.Entry, error) {
	delay := waitFirstPoll
	for {
		e, err := c.Get(ctx, key)
		if err == nil {
			return e, nil
		}
		if !errors.Is(err, exchange.ErrCacheMiss) {
			return nil, err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("rediscache: waiting for an entry: %w", ctx.Err())
		case <-t.C:
		}
		delay = min(2*delay, waitMaxPoll)
	}
}

// Publish implements [exchange.Coordinator]: PUBLISH on the channel
// Namespace + "invalidations" of hex(key) + ":" + hex(fp), which names
// neither a token nor a subject. It goes through the circuit breaker and
// has Options.OpTimeout.
func (c *Cache) Publish(ctx context.Context, key exchange.Key, fp exchange.Fingerprint) error {
	trial, err := c.admit(ctx, opPublish)
	if err != nil {
		return err
	}
	msg := hex.EncodeToString(key[:]) + ":" + hex.EncodeToString(fp[:])
	start := time.Now()
	pctx, cancel := context.WithTimeout(ctx, c.opTimeout)
	err = c.client.Do(pctx, c.client.B().Publish().Channel(c.channel()).Message(msg).Build()).Error()
	cancel()
	if err != nil {
		c.finish(ctx, trial, opPublish, outcomeError, start, err)
		return fmt.Errorf("rediscache: PUBLISH: %w", err)
	}
	c.finish(ctx, trial, opPublish, outcomeOK, start, nil)
	return nil
}

// Subscribe implements [exchange.Coordinator]: it subscribes to the
// invalidations channel from a goroutine of its own and calls f for each
// well-formed message (others are counted as receive operations with
// outcome error, and dropped). When the subscription fails (Redis down,
// a connection lost) it subscribes again after a back-off of 50ms
// doubling up to 5s, logging the loss at Warn (at most once a minute);
// messages published meanwhile are lost. It does not go through the
// circuit breaker. stop ends it and returns once f is no longer called;
// [Cache.Close] ends it too.
func (c *Cache) Subscribe(f func(key exchange.Key, fp exchange.Fingerprint)) (stop func(), err error) {
	if c.closed.Load() {
		return nil, ErrClosed
	}
	ctx, cancel := context.WithCancel(c.life)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.receive(ctx, f)
	}()
	return func() { cancel(); <-done }, nil
}

// receive runs the subscription until ctx ends or the Cache is closed.
func (c *Cache) receive(ctx context.Context, f func(exchange.Key, exchange.Fingerprint)) {
	backoff := resubscribeFirst
	for {
		start := time.Now()
		err := c.client.Receive(ctx, c.client.B().Subscribe().Channel(c.channel()).Build(), func(m rueidis.PubSubMessage) {
			key, fp, ok := parseInvalidation(m.Message)
			if !ok {
				c.tel.record(ctx, opReceive, outcomeError, time.Time{})
				return
			}
			c.tel.record(ctx, opReceive, outcomeOK, time.Time{})
			f(key, fp)
		})
		if ctx.Err() != nil || c.closed.Load() {
			return
		}
		c.tel.record(ctx, opSubscribe, outcomeError, time.Time{})
		c.log.Log(ctx, slog.LevelWarn, "rediscache: invalidation subscription lost, subscribing again", "error", err)
		if time.Since(start) > subscriptionStays {
			backoff = resubscribeFirst
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, resubscribeMax)
	}
}

// parseInvalidation reads a message hex(key) + ":" + hex(fp).
func parseInvalidation(msg string) (key exchange.Key, fp exchange.Fingerprint, ok bool) {
	const n = 2*len(key) + 1 + 2*len(fp)
	if len(msg) != n || msg[2*len(key)] != ':' {
		return key, fp, false
	}
	if _, err := hex.Decode(key[:], []byte(msg[:2*len(key)])); err != nil {
		return key, fp, false
	}
	if _, err := hex.Decode(fp[:], []byte(msg[2*len(key)+1:])); err != nil {
		return key, fp, false
	}
	return key, fp, true
}
