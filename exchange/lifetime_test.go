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

	// Then the subject is within the skew of its exp: refused locally.
	e.clock.Advance(time.Nanosecond)
	_, err = e.x.Exchange(context.Background(), subject, tgt)
	require.ErrorIs(t, err, exchange.ErrSubjectExpired)
	assert.Equal(t, 1, e.exchanges())
}

func TestNoRefreshWhenSubjectEndsTheEntry(t *testing.T) {
	// The subject's exp ends the entry: a new token would end no later,
	// so refresh-ahead does not start.
	e := newEnv(t, refreshOpts, testutil.Options{TokenLifetime: 10 * time.Minute}, nil)
	subject := e.a.IssueToken(testutil.TokenClaims{Subject: "alice", Expiry: t0.Add(2 * time.Minute)})
	tgt := exchange.Target{Audiences: []string{"api-a"}}
	first, err := e.x.Exchange(context.Background(), subject, tgt)
	require.NoError(t, err)
	for range 80 { // up to 80s of the 90s entry, past any refresh point
		e.clock.Advance(time.Second)
		tok, err := e.x.Exchange(context.Background(), subject, tgt)
		require.NoError(t, err)
		assert.Equal(t, first.AccessToken, tok.AccessToken)
	}
	time.Sleep(20 * time.Millisecond) // a refresh would run in the background
	assert.Equal(t, uint64(0), e.x.Stats().Refreshes)
	assert.Equal(t, 1, e.exchanges())

	// When the issued token ends first, the refresh is scheduled.
	subject = e.a.IssueToken(testutil.TokenClaims{Subject: "bob", Expiry: e.clock.Now().Add(time.Hour)})
	old, err := e.x.Exchange(context.Background(), subject, tgt)
	require.NoError(t, err)
	e.clock.Advance(5 * time.Minute) // half of 10m minus the skew is 4m45s
	_, err = e.x.Exchange(context.Background(), subject, tgt)
	require.NoError(t, err)
	waitFor(t, "the refresh", func() bool {
		tok, err := e.x.Exchange(context.Background(), subject, tgt)
		require.NoError(t, err)
		return tok.AccessToken != old.AccessToken
	})
	assert.Equal(t, uint64(1), e.x.Stats().Refreshes)
}

func TestShortLivedTokenIsCached(t *testing.T) {
	// The token lives 20s, less than the 30s skew: the skew becomes a
	// quarter of its life, 5s, and the entry lives 15s.
	e := newEnv(t, noRefresh, testutil.Options{TokenLifetime: 20 * time.Second}, nil)
	subject := e.subject("alice")
	first, err := e.x.Exchange(context.Background(), subject, exchange.Target{})
	require.NoError(t, err)
	e.clock.Advance(15*time.Second - time.Nanosecond)
	tok, err := e.x.Exchange(context.Background(), subject, exchange.Target{})
	require.NoError(t, err)
	assert.Equal(t, first.AccessToken, tok.AccessToken)
	assert.Equal(t, 1, e.exchanges())

	e.clock.Advance(time.Nanosecond)
	tok, err = e.x.Exchange(context.Background(), subject, exchange.Target{})
	require.NoError(t, err)
	assert.NotEqual(t, first.AccessToken, tok.AccessToken)
	assert.False(t, tok.Expired(e.clock.Now()))
	assert.Equal(t, 2, e.exchanges())
}

func TestIssuedTokenExpCapsLifetime(t *testing.T) {
	// No expires_in: the client gives the token its default 60s, but the
	// JWT says 30s. With no skew the entry must end at 30s.
	opts := noRefresh
	opts.Skew = -1
	e := newEnv(t, opts, testutil.Options{TokenLifetime: 30 * time.Second, OmitExpiresIn: true}, nil)
	subject := e.subject("alice")
	first, err := e.x.Exchange(context.Background(), subject, exchange.Target{})
	require.NoError(t, err)
	require.Equal(t, t0.Add(time.Minute), first.Expiry, "the client's default lifetime")

	e.clock.Advance(30*time.Second - time.Nanosecond)
	tok, err := e.x.Exchange(context.Background(), subject, exchange.Target{})
	require.NoError(t, err)
	assert.Equal(t, first.AccessToken, tok.AccessToken)

	e.clock.Advance(time.Nanosecond)
	tok, err = e.x.Exchange(context.Background(), subject, exchange.Target{})
	require.NoError(t, err)
	assert.NotEqual(t, first.AccessToken, tok.AccessToken, "the JWT's exp ended the entry")
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
