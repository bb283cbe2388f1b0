package exchange_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// fill stores n entries with tokens of size bytes.
func fill(c *exchange.MemoryCache, n, size int, expiry time.Time) {
	for i := range n {
		tok := fmt.Sprintf("%08d", i) + strings.Repeat("x", size-8)
		_ = c.Set(context.Background(), sha256.Sum256([]byte(tok)), &exchange.Entry{
			Token:   &authority.Token{AccessToken: tok, TokenType: "Bearer", Expiry: expiry},
			Expires: expiry,
		}, time.Hour)
	}
}

func TestMemoryCacheBounds(t *testing.T) {
	clock := testutil.NewClock(t0)
	t.Run("entries", func(t *testing.T) {
		c, err := exchange.NewMemoryCache(exchange.MemoryOptions{MaxEntries: 100, MaxBytes: 1 << 30, Now: clock.Now})
		require.NoError(t, err)
		t.Cleanup(c.Close)
		fill(c, 1000, 64, t0.Add(time.Hour))
		c.CleanUp()
		assert.LessOrEqual(t, c.Len(), 100)
		assert.GreaterOrEqual(t, c.Evictions(), uint64(900))
	})
	t.Run("bytes", func(t *testing.T) {
		const maxBytes = 100 << 10
		c, err := exchange.NewMemoryCache(exchange.MemoryOptions{MaxEntries: 10_000, MaxBytes: maxBytes, Now: clock.Now})
		require.NoError(t, err)
		t.Cleanup(c.Close)
		fill(c, 1000, 1024, t0.Add(time.Hour))
		c.CleanUp()
		assert.LessOrEqual(t, c.Weight(), uint64(maxBytes))
		assert.LessOrEqual(t, c.Len(), maxBytes/1024)
		assert.Positive(t, c.Len())
		assert.GreaterOrEqual(t, c.Evictions(), uint64(1000-maxBytes/1024))
	})
	t.Run("expiry", func(t *testing.T) {
		c, err := exchange.NewMemoryCache(exchange.MemoryOptions{Now: clock.Now})
		require.NoError(t, err)
		t.Cleanup(c.Close)
		k := exchange.Key{1}
		ctx := context.Background()
		require.NoError(t, c.Set(ctx, k, &exchange.Entry{Token: &authority.Token{AccessToken: "t"}, Expires: clock.Now().Add(time.Minute)}, time.Minute))
		_, err = c.Get(ctx, k)
		assert.NoError(t, err)
		clock.Advance(time.Minute)
		_, err = c.Get(ctx, k)
		assert.ErrorIs(t, err, exchange.ErrCacheMiss)
		require.NoError(t, c.Set(ctx, k, &exchange.Entry{Token: &authority.Token{AccessToken: "t"}}, 0))
		_, err = c.Get(ctx, k)
		assert.ErrorIs(t, err, exchange.ErrCacheMiss, "a zero TTL stores nothing")
	})
	t.Run("bad options", func(t *testing.T) {
		_, err := exchange.NewMemoryCache(exchange.MemoryOptions{MaxEntries: -1})
		assert.Error(t, err)
	})
}

func TestExchangerEvictionKeepsBounds(t *testing.T) {
	clock := testutil.NewClock(t0)
	c, err := exchange.NewMemoryCache(exchange.MemoryOptions{MaxEntries: 10, Now: clock.Now})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	e := newEnv(t, exchange.Options{Cache: c, Now: clock.Now}, testutil.Options{Now: clock.Now}, nil)
	for i := range 50 {
		_, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(e.subject(fmt.Sprintf("user-%d", i))), exchange.Target{})
		require.NoError(t, err)
	}
	c.CleanUp()
	st := e.x.Stats()
	assert.LessOrEqual(t, st.Entries, 10)
	assert.GreaterOrEqual(t, st.Evictions, uint64(40))
}

func TestSharedCacheKeepsClientsApart(t *testing.T) {
	e := newEnv(t, exchange.Options{}, testutil.Options{}, nil)
	e.a.AddClient(testutil.Client{ID: "other", Secret: "other-secret", ExchangeAudiences: []string{"api-a"}})
	shared, err := exchange.NewMemoryCache(exchange.MemoryOptions{Now: e.clock.Now})
	require.NoError(t, err)
	t.Cleanup(shared.Close)
	subject := e.subject("alice")
	var tokens []string
	for _, id := range []string{clientID, "other"} {
		client, err := authority.New(authority.Config{
			TokenURL: e.a.TokenURL(), ClientID: id, ClientSecret: map[string]string{clientID: clientSecret, "other": "other-secret"}[id],
			HTTPClient: e.a.Client(), Now: e.clock.Now,
		})
		require.NoError(t, err)
		x, err := exchange.New(client, exchange.Options{Cache: shared, Now: e.clock.Now})
		require.NoError(t, err)
		t.Cleanup(x.Close)
		tok, err := x.Exchange(context.Background(), authority.NewSubjectToken(subject), exchange.Target{Audiences: []string{"api-a"}})
		require.NoError(t, err)
		cid, _ := claims(t, tok).Get("client_id")
		assert.Equal(t, id, cid)
		tokens = append(tokens, tok.AccessToken)
	}
	assert.NotEqual(t, tokens[0], tokens[1])
	assert.Equal(t, 2, e.exchanges())
}
