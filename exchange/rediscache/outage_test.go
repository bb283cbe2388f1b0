package rediscache_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"

	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/exchange/rediscache"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// testOpTimeout is the OpTimeout of the outage tests; slack is what a
// loaded machine (race detector, shared cores) may add to it.
const (
	testOpTimeout = 50 * time.Millisecond
	slack         = 400 * time.Millisecond
)

func ops(t *testing.T, e *env, op, outcome string) int64 {
	t.Helper()
	return e.metrics.Int64(t, "tokenexchange.rediscache.operations",
		attribute.String("tokenexchange.operation", op), attribute.String("tokenexchange.outcome", outcome))
}

// TestRedisKilled: with Redis gone, calls fail within OpTimeout, the
// breaker opens after the threshold and calls fail fast without Redis;
// after a restart and the cool-down, one trial call closes it and the
// store is used again.
func TestRedisKilled(t *testing.T) {
	e := newEnv(t)
	const cooldown = 5 * time.Second
	c := e.cache(t, func(o *rediscache.Options) {
		o.OpTimeout = testOpTimeout
		o.BreakerThreshold = 3
		o.BreakerCooldown = cooldown
	})
	k := keyFor("alice")
	require.NoError(t, c.Set(ctx, k, e.entry("access", ""), time.Hour))

	e.r.Kill()
	for i := range 3 {
		start := time.Now()
		_, err := c.Get(ctx, k)
		took := time.Since(start)
		require.Error(t, err, "call %d", i)
		assert.NotErrorIs(t, err, exchange.ErrCacheMiss)
		assert.NotErrorIs(t, err, rediscache.ErrUnavailable, "call %d reaches for Redis", i)
		assert.Less(t, took, testOpTimeout+slack, "call %d within OpTimeout", i)
	}
	assert.Equal(t, int64(3), ops(t, e, "get", "error"))

	// Open: calls fail at once, without Redis.
	for _, call := range []func() error{
		func() error { _, err := c.Get(ctx, k); return err },
		func() error { return c.Set(ctx, k, e.entry("x", ""), time.Hour) },
		func() error { return c.Delete(ctx, k) },
		func() error {
			_, err := c.CompareAndDelete(ctx, k, func(*exchange.Entry) bool { return true })
			return err
		},
	} {
		start := time.Now()
		assert.ErrorIs(t, call(), rediscache.ErrUnavailable)
		assert.Less(t, time.Since(start), slack)
	}
	for _, op := range []string{"get", "set", "delete", "compare_and_delete"} {
		assert.Equal(t, int64(1), ops(t, e, op, "rejected_open"), op)
	}
	assert.Equal(t, int64(2), e.metrics.Int64(t, "tokenexchange.rediscache.breaker.state"), "open")
	assert.Equal(t, int64(1), e.metrics.Int64(t, "tokenexchange.rediscache.breaker.openings"))
	assert.Contains(t, c.String(), "Breaker:open")
	logs := e.logs.String()
	assert.Equal(t, 1, strings.Count(logs, "circuit breaker opened"), logs)
	assert.Contains(t, logs, "level=WARN")

	// Still down after the cool-down: the trial fails and the breaker
	// opens again for twice as long.
	e.clock.Advance(cooldown)
	_, err := c.Get(ctx, k)
	require.Error(t, err)
	assert.NotErrorIs(t, err, rediscache.ErrUnavailable, "the trial call")
	assert.Equal(t, int64(2), e.metrics.Int64(t, "tokenexchange.rediscache.breaker.openings"))
	e.clock.Advance(cooldown)
	_, err = c.Get(ctx, k)
	assert.ErrorIs(t, err, rediscache.ErrUnavailable, "the cool-down doubled")

	e.r.Restart()
	waitAnswers(t, c)
	e.clock.Advance(cooldown)
	// The first trial may still fail on a loaded machine; each failed
	// one waits a longer cool-down, bounded here.
	recovered := false
	for range 5 {
		if err := c.Set(ctx, k, e.entry("access-2", ""), time.Hour); err == nil {
			recovered = true
			break
		}
		e.clock.Advance(time.Minute)
	}
	require.True(t, recovered, "the store is used again after Redis returns")
	got, err := c.Get(ctx, k)
	require.NoError(t, err)
	assert.Equal(t, "access-2", got.Token.AccessToken)
	assert.Equal(t, int64(0), e.metrics.Int64(t, "tokenexchange.rediscache.breaker.state"), "closed")
	assert.Contains(t, e.logs.String(), "circuit breaker closed")
	assert.Contains(t, e.logs.String(), "level=INFO")
}

// TestSlowRedis: a server that does not answer (CLIENT PAUSE) makes each
// call fail within OpTimeout, never blocking its caller longer.
func TestSlowRedis(t *testing.T) {
	e := newEnv(t)
	c := e.cache(t, func(o *rediscache.Options) {
		o.OpTimeout = testOpTimeout
		o.BreakerThreshold = 100
	})
	k := keyFor("alice")
	require.NoError(t, c.Set(ctx, k, e.entry("access", ""), time.Hour))

	_, err := e.r.Do("CLIENT", "PAUSE", "1000", "ALL")
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = e.r.Do("CLIENT", "UNPAUSE") })
	for _, call := range []struct {
		name string
		f    func() error
	}{
		{"get", func() error { _, err := c.Get(ctx, k); return err }},
		{"set", func() error { return c.Set(ctx, k, e.entry("x", ""), time.Hour) }},
		{"delete", func() error { return c.Delete(ctx, k) }},
		{"compare_and_delete", func() error {
			_, err := c.CompareAndDelete(ctx, k, func(*exchange.Entry) bool { return true })
			return err
		}},
	} {
		start := time.Now()
		err := call.f()
		took := time.Since(start)
		require.Error(t, err, call.name)
		assert.True(t, errors.Is(err, context.DeadlineExceeded), "%s: %v", call.name, err)
		assert.Less(t, took, testOpTimeout+slack, call.name)
		assert.GreaterOrEqual(t, took, testOpTimeout, call.name)
		assert.Equal(t, int64(1), ops(t, e, call.name, "error"), call.name)
	}

	_, err = e.r.Do("CLIENT", "UNPAUSE")
	require.NoError(t, err)
	got, err := c.Get(ctx, k)
	require.NoError(t, err, "answering again")
	assert.Equal(t, "access", got.Token.AccessToken)
}

// TestCallerContextEnds: a call whose caller's context has ended says
// nothing about Redis: it does not count toward the breaker.
func TestCallerContextEnds(t *testing.T) {
	e := newEnv(t)
	c := e.cache(t, func(o *rediscache.Options) { o.BreakerThreshold = 1 })
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	for range 3 {
		_, err := c.Get(canceled, keyFor("alice"))
		require.ErrorIs(t, err, context.Canceled)
	}
	assert.Contains(t, c.String(), "Breaker:closed")
	_, err := c.Get(ctx, keyFor("alice"))
	assert.ErrorIs(t, err, exchange.ErrCacheMiss)
}

// TestClosed: Close closes a client the Cache made; calls then fail with
// ErrClosed. Close twice is fine.
func TestClosed(t *testing.T) {
	e := newEnv(t)
	c := e.cache(t, nil)
	require.NoError(t, c.Close())
	require.NoError(t, c.Close())
	_, err := c.Get(ctx, keyFor("alice"))
	assert.ErrorIs(t, err, rediscache.ErrClosed)
	assert.ErrorIs(t, c.Set(ctx, keyFor("alice"), e.entry("a", ""), time.Hour), rediscache.ErrClosed)
}

// TestGivenClient: a Cache on a client of its owner leaves it open.
func TestGivenClient(t *testing.T) {
	e := newEnv(t)
	c := e.cache(t, func(o *rediscache.Options) { o.URL, o.Client = "", e.raw })
	require.NoError(t, c.Set(ctx, keyFor("alice"), e.entry("a", ""), time.Hour))
	assert.Same(t, e.raw, c.Client())
	require.NoError(t, c.Close())
	require.NoError(t, e.raw.Do(ctx, e.raw.B().Ping().Build()).Error(), "still open")
}

// TestStartsWithRedisDown: a Cache from a URL starts while Redis does
// not answer, and uses it once it does.
func TestStartsWithRedisDown(t *testing.T) {
	e := newEnv(t)
	e.r.Kill()
	c := e.cache(t, func(o *rediscache.Options) { o.OpTimeout = testOpTimeout; o.BreakerThreshold = 100 })
	_, err := c.Get(ctx, keyFor("alice"))
	require.Error(t, err)
	e.r.Restart()
	waitAnswers(t, c)
	var last error
	testutil.WaitFor(t, "Set to succeed once Redis answers", func() bool {
		last = c.Set(ctx, keyFor("alice"), e.entry("a", ""), time.Hour)
		return last == nil
	})
	require.NoError(t, last)
}

// waitAnswers waits (up to 10 s) until c's client, redialling with a
// backoff after Redis was down, has Redis answer a PING: a busy machine
// can make that outlast any fixed number of retries of a call. PING
// bypasses the breaker, whose clock is fake in these tests: failed calls
// polled in its place could open it for good.
func waitAnswers(t *testing.T, c *rediscache.Cache) {
	t.Helper()
	client := c.Client()
	testutil.WaitFor(t, "the cache's client to reach Redis", func() bool {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		return client.Do(pctx, client.B().Ping().Build()).Error() == nil
	})
}
