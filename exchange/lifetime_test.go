package exchange_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// noRefresh turns refresh-ahead off, so that only expiry is tested.
var noRefresh = exchange.Options{RefreshAhead: -1}

func TestExpiryAndSkew(t *testing.T) {
	tests := []struct {
		name     string
		skew     time.Duration
		lifetime time.Duration // of the entry, after skew
	}{
		{"default skew", 0, 5*time.Minute - exchange.DefaultSkew},
		{"custom skew", time.Minute, 4 * time.Minute},
		{"no skew", -1, 5 * time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := noRefresh
			opts.Skew = tc.skew
			e := newEnv(t, opts, testutil.Options{TokenLifetime: 5 * time.Minute}, nil)
			subject := e.subject("alice")
			tgt := exchange.Target{Audiences: []string{"api-a"}}
			first, err := e.x.Exchange(context.Background(), subject, tgt)
			require.NoError(t, err)

			e.clock.Advance(tc.lifetime - time.Second)
			tok, err := e.x.Exchange(context.Background(), subject, tgt)
			require.NoError(t, err)
			assert.Equal(t, first.AccessToken, tok.AccessToken, "served until just before the end")
			assert.Equal(t, 1, e.exchanges())

			e.clock.Advance(time.Second) // exactly at the end: never served
			tok, err = e.x.Exchange(context.Background(), subject, tgt)
			require.NoError(t, err)
			assert.NotEqual(t, first.AccessToken, tok.AccessToken)
			assert.Equal(t, 2, e.exchanges())
			assert.True(t, tok.Expiry.After(e.clock.Now()))
		})
	}
}

func TestSubjectExpiryCapsLifetime(t *testing.T) {
	e := newEnv(t, noRefresh, testutil.Options{TokenLifetime: 10 * time.Minute}, nil)
	subject := e.a.IssueToken(testutil.TokenClaims{Subject: "alice", Expiry: t0.Add(2 * time.Minute)})
	tgt := exchange.Target{Audiences: []string{"api-a"}}
	first, err := e.x.Exchange(context.Background(), subject, tgt)
	require.NoError(t, err)
	assert.Equal(t, t0.Add(10*time.Minute), first.Expiry, "the issued token lives longer")

	// The entry ends at the subject's exp minus the skew: 1m30s.
	e.clock.Advance(90*time.Second - time.Nanosecond)
	tok, err := e.x.Exchange(context.Background(), subject, tgt)
	require.NoError(t, err)
	assert.Equal(t, first.AccessToken, tok.AccessToken)

	e.clock.Advance(time.Nanosecond)
	tok, err = e.x.Exchange(context.Background(), subject, tgt)
	require.NoError(t, err)
	assert.NotEqual(t, first.AccessToken, tok.AccessToken)
	assert.Equal(t, 2, e.exchanges())
}

func TestShortLivedTokenIsNotCached(t *testing.T) {
	// The token lives 20s, less than the 30s skew: returned, never cached.
	e := newEnv(t, noRefresh, testutil.Options{TokenLifetime: 20 * time.Second}, nil)
	subject := e.subject("alice")
	for range 2 {
		tok, err := e.x.Exchange(context.Background(), subject, exchange.Target{})
		require.NoError(t, err)
		assert.False(t, tok.Expired(e.clock.Now()))
	}
	assert.Equal(t, 2, e.exchanges())
}

func TestExpiresInAbsentOrString(t *testing.T) {
	for _, aopts := range []testutil.Options{{OmitExpiresIn: true}, {ExpiresInAsString: true}} {
		e := newEnv(t, noRefresh, aopts, nil)
		subject := e.subject("alice")
		first, err := e.x.Exchange(context.Background(), subject, exchange.Target{})
		require.NoError(t, err)
		tok, err := e.x.Exchange(context.Background(), subject, exchange.Target{})
		require.NoError(t, err)
		assert.Equal(t, first.AccessToken, tok.AccessToken)
		// Never "forever": the entry ends with the token's known expiry.
		e.clock.Advance(first.Expiry.Sub(t0))
		tok, err = e.x.Exchange(context.Background(), subject, exchange.Target{})
		require.NoError(t, err)
		assert.NotEqual(t, first.AccessToken, tok.AccessToken)
	}
}
