package bytecache_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/internal/bytecache"
)

// TestMain fails the package's tests if any goroutine outlives them.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func TestCache(t *testing.T) {
	now := t0
	c := bytecache.New(func() time.Time { return now })
	ctx := context.Background()
	k := exchange.Key{1}
	e := &exchange.Entry{Token: &authority.Token{AccessToken: "at", TokenType: "Bearer", Expiry: t0.Add(time.Hour)}, Expires: t0.Add(time.Hour)}

	_, err := c.Get(ctx, k)
	assert.Equal(t, exchange.ErrCacheMiss, err)
	require.NoError(t, c.Set(ctx, k, e, time.Minute))
	got, err := c.Get(ctx, k)
	require.NoError(t, err)
	assert.NotSame(t, e, got, "decoded anew")
	assert.Equal(t, "at", got.Token.AccessToken)
	assert.Equal(t, 1, c.Len())

	now = now.Add(time.Minute)
	_, err = c.Get(ctx, k)
	assert.ErrorIs(t, err, exchange.ErrCacheMiss, "expired after its TTL")
	assert.Equal(t, 0, c.Len())

	require.NoError(t, c.Set(ctx, k, e, time.Minute))
	removed, err := c.CompareAndDelete(ctx, k, func(got *exchange.Entry) bool { return got.Token.AccessToken == "other" })
	require.NoError(t, err)
	assert.False(t, removed)
	removed, err = c.CompareAndDelete(ctx, k, func(got *exchange.Entry) bool { return got.Token.AccessToken == "at" })
	require.NoError(t, err)
	assert.True(t, removed)
	assert.Equal(t, 0, c.Len())

	errDown := errors.New("down")
	c.Fail(errDown, bytecache.OpSet)
	assert.ErrorIs(t, c.Set(ctx, k, e, time.Minute), errDown)
	_, err = c.Get(ctx, k)
	assert.ErrorIs(t, err, exchange.ErrCacheMiss, "only Set fails")
	c.Fail(nil)
	require.NoError(t, c.Set(ctx, k, e, time.Minute))

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = c.Get(canceled, k)
	assert.ErrorIs(t, err, context.Canceled, "an ended context fails the call")
	require.NoError(t, c.Set(ctx, k, e, 0), "a zero TTL removes")
	assert.Equal(t, 0, c.Len())

	_, ok := c.Plain().(exchange.CompareAndDeleter)
	assert.False(t, ok)
	assert.Equal(t, bytecache.Stats{Gets: 5, Hits: 1, Sets: 5, Deletes: 0, CompareAndDeletes: 2, Failures: 2}, c.Stats())
}
