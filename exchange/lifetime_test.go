package exchange_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/authority"
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
			first, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
			require.NoError(t, err)

			e.clock.Advance(tc.lifetime - time.Second)
			tok, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
			require.NoError(t, err)
			assert.Equal(t, first.AccessToken, tok.AccessToken, "served until just before the end")
			assert.Equal(t, 1, e.exchanges())

			e.clock.Advance(time.Second) // exactly at the end: never served
			tok, err = e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
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
	first, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
	require.NoError(t, err)
	assert.Equal(t, t0.Add(10*time.Minute), first.Expiry, "the issued token lives longer")

	// The entry ends at the subject's exp minus the skew: 1m30s.
	e.clock.Advance(90*time.Second - time.Nanosecond)
	tok, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
	require.NoError(t, err)
	assert.Equal(t, first.AccessToken, tok.AccessToken)

	// Then the subject has 30s left: exchanged again, and cached for three
	// quarters of that, 22.5s.
	e.clock.Advance(time.Nanosecond)
	second, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
	require.NoError(t, err)
	assert.NotEqual(t, first.AccessToken, second.AccessToken)
	assert.Equal(t, 2, e.exchanges())
	e.clock.Advance(22500*time.Millisecond - time.Nanosecond)
	tok, err = e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
	require.NoError(t, err)
	assert.Equal(t, second.AccessToken, tok.AccessToken)
	assert.Equal(t, 2, e.exchanges())

	// Once the subject has expired it is refused locally.
	e.clock.Advance(7500*time.Millisecond + time.Nanosecond)
	_, err = e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
	require.ErrorIs(t, err, exchange.ErrSubjectExpired)
	assert.Equal(t, 2, e.exchanges())
}

func TestSubjectNearItsExpIsExchanged(t *testing.T) {
	// The subject has 25s left, less than the 30s skew: it is exchanged,
	// and the entry ends a quarter of that (6.25s) before its exp, 18.75s
	// from now.
	e := newEnv(t, noRefresh, testutil.Options{TokenLifetime: 10 * time.Minute}, nil)
	subject := e.a.IssueToken(testutil.TokenClaims{Subject: "alice", Expiry: t0.Add(25 * time.Second)})
	tgt := exchange.Target{Audiences: []string{"api-a"}}
	first, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
	require.NoError(t, err)
	assert.Equal(t, 1, e.exchanges())

	e.clock.Advance(18750*time.Millisecond - time.Nanosecond)
	tok, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
	require.NoError(t, err)
	assert.Equal(t, first.AccessToken, tok.AccessToken, "cached for ~18s")
	assert.Equal(t, 1, e.exchanges())

	e.clock.Advance(time.Nanosecond)
	tok, err = e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
	require.NoError(t, err)
	assert.NotEqual(t, first.AccessToken, tok.AccessToken, "the entry ended; the subject is still valid")
	assert.Equal(t, 2, e.exchanges())

	// Expired: refused without asking the authority.
	e.clock.Advance(6250 * time.Millisecond)
	_, err = e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
	require.ErrorIs(t, err, exchange.ErrSubjectExpired)
	expired := e.a.IssueToken(testutil.TokenClaims{Subject: "bob", Expiry: e.clock.Now().Add(-time.Second), IssuedAt: t0.Add(-time.Hour)})
	_, err = e.x.Exchange(context.Background(), authority.NewSubjectToken(expired), tgt)
	require.ErrorIs(t, err, exchange.ErrSubjectExpired)
	assert.Equal(t, 2, e.exchanges())
}

func TestSubjectExpiringDuringTheExchangeIsNotCached(t *testing.T) {
	// The subject expires while the authority answers: the token is
	// returned to the callers but not cached.
	clock := testutil.NewClock(t0)
	var e *env
	tr := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := e.a.Client().Transport.RoundTrip(r)
		clock.Advance(10 * time.Second)
		return resp, err
	})
	e = newEnv(t, exchange.Options{RefreshAhead: -1, Now: clock.Now}, testutil.Options{Now: clock.Now}, &http.Client{Transport: tr})
	e.clock = clock
	subject := e.a.IssueToken(testutil.TokenClaims{Subject: "alice", Expiry: t0.Add(5 * time.Second)})
	tok, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), exchange.Target{})
	require.NoError(t, err)
	require.NotNil(t, tok)
	assert.Equal(t, 0, e.x.Stats().Entries, "not cached")
}

func TestNoRefreshOnATie(t *testing.T) {
	// The issued token (10m) and the subject (10m) end the entry at the
	// same moment, 9m30s: the subject is taken to end it, so no refresh
	// (a new token would end no later).
	e := newEnv(t, refreshOpts, testutil.Options{TokenLifetime: 10 * time.Minute}, nil)
	subject := e.a.IssueToken(testutil.TokenClaims{Subject: "alice", Expiry: t0.Add(10 * time.Minute)})
	tgt := exchange.Target{Audiences: []string{"api-a"}}
	first, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
	require.NoError(t, err)
	require.Equal(t, t0.Add(10*time.Minute), first.Expiry)
	e.clock.Advance(5 * time.Minute) // past half of the entry's 9m30s
	tok, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
	require.NoError(t, err)
	assert.Equal(t, first.AccessToken, tok.AccessToken)
	time.Sleep(20 * time.Millisecond) // a refresh would run in the background
	assert.Equal(t, uint64(0), e.x.Stats().Refreshes)
	assert.Equal(t, 1, e.exchanges())

	e.clock.Advance(4*time.Minute + 30*time.Second - time.Nanosecond)
	_, err = e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
	require.NoError(t, err)
	assert.Equal(t, 1, e.exchanges(), "served until 9m30s")
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestNoRefreshWhenSubjectEndsTheEntry(t *testing.T) {
	// The subject's exp ends the entry: a new token would end no later,
	// so refresh-ahead does not start.
	e := newEnv(t, refreshOpts, testutil.Options{TokenLifetime: 10 * time.Minute}, nil)
	subject := e.a.IssueToken(testutil.TokenClaims{Subject: "alice", Expiry: t0.Add(2 * time.Minute)})
	tgt := exchange.Target{Audiences: []string{"api-a"}}
	first, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
	require.NoError(t, err)
	for range 80 { // up to 80s of the 90s entry, past any refresh point
		e.clock.Advance(time.Second)
		tok, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
		require.NoError(t, err)
		assert.Equal(t, first.AccessToken, tok.AccessToken)
	}
	time.Sleep(20 * time.Millisecond) // a refresh would run in the background
	assert.Equal(t, uint64(0), e.x.Stats().Refreshes)
	assert.Equal(t, 1, e.exchanges())

	// When the issued token ends first, the refresh is scheduled.
	subject = e.a.IssueToken(testutil.TokenClaims{Subject: "bob", Expiry: e.clock.Now().Add(time.Hour)})
	old, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
	require.NoError(t, err)
	e.clock.Advance(5 * time.Minute) // half of 10m minus the skew is 4m45s
	_, err = e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
	require.NoError(t, err)
	testutil.WaitFor(t, "the refresh", func() bool {
		tok, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
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
	first, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), exchange.Target{})
	require.NoError(t, err)
	e.clock.Advance(15*time.Second - time.Nanosecond)
	tok, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), exchange.Target{})
	require.NoError(t, err)
	assert.Equal(t, first.AccessToken, tok.AccessToken)
	assert.Equal(t, 1, e.exchanges())

	e.clock.Advance(time.Nanosecond)
	tok, err = e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), exchange.Target{})
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
	first, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), exchange.Target{})
	require.NoError(t, err)
	require.Equal(t, t0.Add(time.Minute), first.Expiry, "the client's default lifetime")

	e.clock.Advance(30*time.Second - time.Nanosecond)
	tok, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), exchange.Target{})
	require.NoError(t, err)
	assert.Equal(t, first.AccessToken, tok.AccessToken)

	e.clock.Advance(time.Nanosecond)
	tok, err = e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), exchange.Target{})
	require.NoError(t, err)
	assert.NotEqual(t, first.AccessToken, tok.AccessToken, "the JWT's exp ended the entry")
	assert.Equal(t, 2, e.exchanges())
}

func TestExpiresInAbsentOrString(t *testing.T) {
	for _, aopts := range []testutil.Options{{OmitExpiresIn: true}, {ExpiresInAsString: true}} {
		e := newEnv(t, noRefresh, aopts, nil)
		subject := e.subject("alice")
		first, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), exchange.Target{})
		require.NoError(t, err)
		tok, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), exchange.Target{})
		require.NoError(t, err)
		assert.Equal(t, first.AccessToken, tok.AccessToken)
		// Never "forever": the entry ends with the token's known expiry.
		e.clock.Advance(first.Expiry.Sub(t0))
		tok, err = e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), exchange.Target{})
		require.NoError(t, err)
		assert.NotEqual(t, first.AccessToken, tok.AccessToken)
	}
}
