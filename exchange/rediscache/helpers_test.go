package rediscache_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/exchange/rediscache"
	"github.com/go-tokenexchange/tokenexchange/internal/oteltest"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// Two AES keys: oldKey and newKey, for rotation.
var (
	oldKey = bytes.Repeat([]byte{0x11}, 32)
	newKey = bytes.Repeat([]byte{0x22}, 32)
)

// env is one redis-server, a raw client on it, and the telemetry of the
// caches made on it.
type env struct {
	r       *testutil.Redis
	raw     rueidis.Client
	clock   *testutil.Clock
	metrics *oteltest.Metrics
	logs    *testutil.LogBuffer
}

func newEnv(t testing.TB) *env {
	t.Helper()
	r := testutil.StartRedis(t)
	raw, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{r.Addr()}, DisableCache: true, ForceSingleClient: true})
	require.NoError(t, err)
	t.Cleanup(raw.Close)
	return &env{r: r, raw: raw, clock: testutil.NewClock(time.Now()), metrics: oteltest.NewMetrics(t), logs: &testutil.LogBuffer{}}
}

// cache returns a Cache on the env's server from its URL, with its clock,
// meter provider and a logger into e.logs; mod changes the options. Its
// OpTimeout is generous, so that a loaded machine (CI runs packages side
// by side on 2 cores) does not turn a slow reply into a failed call; the
// outage tests set the short one they measure.
func (e *env) cache(t testing.TB, mod func(*rediscache.Options)) *rediscache.Cache {
	t.Helper()
	opts := rediscache.Options{
		URL:           e.r.URL(),
		Keys:          [][]byte{oldKey},
		Now:           e.clock.Now,
		MeterProvider: e.metrics.Provider,
		Logger:        slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		OpTimeout:     2 * time.Second,
	}
	if mod != nil {
		mod(&opts)
	}
	c, err := rediscache.New(opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Close()) })
	return c
}

// rawGet returns the bytes Redis holds for key, and whether it holds any.
func (e *env) rawGet(t testing.TB, key string) ([]byte, bool) {
	t.Helper()
	v, err := e.raw.Do(context.Background(), e.raw.B().Get().Key(key).Build()).AsBytes()
	if rueidis.IsRedisNil(err) {
		return nil, false
	}
	require.NoError(t, err)
	return v, true
}

// rawSet stores val under key for an hour.
func (e *env) rawSet(t testing.TB, key string, val []byte) {
	t.Helper()
	require.NoError(t, e.raw.Do(context.Background(), e.raw.B().Set().Key(key).Value(rueidis.BinaryString(val)).Ex(time.Hour).Build()).Error())
}

// allKeys returns every key of the server's database, by SCAN.
func (e *env) allKeys(t testing.TB) []string {
	t.Helper()
	var keys []string
	var cursor uint64
	for {
		entry, err := e.raw.Do(context.Background(), e.raw.B().Scan().Cursor(cursor).Count(100).Build()).AsScanEntry()
		require.NoError(t, err)
		keys = append(keys, entry.Elements...)
		if entry.Cursor == 0 {
			return keys
		}
		cursor = entry.Cursor
	}
}

// entry returns an entry holding access and refresh tokens, expiring in
// an hour on the env's clock.
func (e *env) entry(access, refresh string) *exchange.Entry {
	now := e.clock.Now()
	return &exchange.Entry{
		Token: &authority.Token{
			AccessToken:     access,
			RefreshToken:    refresh,
			TokenType:       "Bearer",
			IssuedTokenType: "urn:ietf:params:oauth:token-type:access_token",
			Scope:           "read",
			Expiry:          now.Add(time.Hour).UTC(),
		},
		Expires:   now.Add(55 * time.Minute).UTC(),
		RefreshAt: now.Add(45 * time.Minute).UTC(),
	}
}

// keyFor returns the cache key of name.
func keyFor(name string) exchange.Key { return sha256.Sum256([]byte(name)) }

// token returns a token-like string of about n bytes that names name.
func token(name string, n int) string {
	s := "eyJ" + name + "."
	return s + strings.Repeat("x", max(0, n-len(s)))
}
