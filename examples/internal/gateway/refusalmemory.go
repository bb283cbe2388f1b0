package gateway

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/redis/rueidis"

	"github.com/go-tokenexchange/tokenexchange/outbound"
)

// refusalInfix separates the refusal windows from the cache's entries
// (Namespace + 64 hex digits) and locks in the Redis namespace.
const refusalInfix = "refusal:"

// defaultRefusalTimeout bounds each Redis call of a redisRefusals, as
// rediscache.DefaultOpTimeout bounds the cache's.
const defaultRefusalTimeout = 50 * time.Millisecond

// redisRefusals is an [outbound.RefusalMemory] in Redis (or Valkey), so
// that the refusal windows of a fleet's transports hold for all: a window
// is the key namespace + "refusal:" + hex(key), value "1", set with
// SET ... PX for the window and read with PTTL. The key is the
// transport's SHA-256 digest of route and subject: nothing in Redis names
// a token, a subject or a route. Each call has its own deadline. It
// needs nothing but a rueidis client, so it can move into
// exchange/rediscache.
type redisRefusals struct {
	client  rueidis.Client
	prefix  string
	timeout time.Duration
}

var _ outbound.RefusalMemory = (*redisRefusals)(nil)

// newRedisRefusals returns the refusal memory on client under namespace;
// timeout bounds each call (defaultRefusalTimeout when zero).
func newRedisRefusals(client rueidis.Client, namespace string, timeout time.Duration) *redisRefusals {
	if timeout <= 0 {
		timeout = defaultRefusalTimeout
	}
	return &redisRefusals{client: client, prefix: namespace + refusalInfix, timeout: timeout}
}

func (m *redisRefusals) redisKey(key [32]byte) string {
	return m.prefix + hex.EncodeToString(key[:])
}

// Remember implements [outbound.RefusalMemory]: SET key 1 PX ttl. A
// window under a millisecond is not stored.
func (m *redisRefusals) Remember(ctx context.Context, key [32]byte, ttl time.Duration) error {
	ms := ttl.Milliseconds()
	if ms < 1 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	cmd := m.client.B().Set().Key(m.redisKey(key)).Value("1").PxMilliseconds(ms).Build()
	if err := m.client.Do(ctx, cmd).Error(); err != nil {
		return fmt.Errorf("redis refusal memory: remember: %w", err)
	}
	return nil
}

// Recall implements [outbound.RefusalMemory]: PTTL key, 0 when the key
// does not exist (or, not being one of ours, has no expiry).
func (m *redisRefusals) Recall(ctx context.Context, key [32]byte) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	n, err := m.client.Do(ctx, m.client.B().Pttl().Key(m.redisKey(key)).Build()).AsInt64()
	if err != nil {
		return 0, fmt.Errorf("redis refusal memory: recall: %w", err)
	}
	if n <= 0 {
		return 0, nil
	}
	return time.Duration(n) * time.Millisecond, nil
}
