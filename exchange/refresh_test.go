package exchange_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// refreshOpts refreshes at exactly half of an entry's life: with a 5 minute
// token and a 30s skew, the life is 4m30s and the refresh is due at 2m15s.
var refreshOpts = exchange.Options{RefreshAhead: 0.5, RefreshJitter: -1}

const refreshDue = 135 * time.Second

func TestRefreshAhead(t *testing.T) {
	e := newEnv(t, refreshOpts, testutil.Options{TokenLifetime: 5 * time.Minute}, nil)
	subject := e.subject("alice")
	tgt := exchange.Target{Audiences: []string{"api-a"}}
	old, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
	require.NoError(t, err)

	e.clock.Advance(refreshDue - time.Second)
	tok, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
	require.NoError(t, err)
	assert.Equal(t, old.AccessToken, tok.AccessToken)
	assert.Equal(t, uint64(0), e.x.Stats().Refreshes, "not due yet")

	e.clock.Advance(time.Second)
	tok, err = e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
	require.NoError(t, err)
	assert.Equal(t, old.AccessToken, tok.AccessToken, "the hit that starts the refresh gets the cached token")

	testutil.WaitFor(t, "the background refresh", func() bool {
		tok, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
		require.NoError(t, err)
		return tok.AccessToken != old.AccessToken
	})
	assert.Equal(t, 2, e.exchanges(), "exactly one refresh")
	st := e.x.Stats()
	assert.Equal(t, uint64(1), st.Refreshes)
	assert.Equal(t, uint64(1), st.Misses)
	assert.Equal(t, uint64(0), st.RefreshFailures)
}

func TestRefreshAheadDoesNotBlockCallers(t *testing.T) {
	opts := refreshOpts
	opts.FlightTimeout = time.Hour
	e := newEnv(t, opts, testutil.Options{TokenLifetime: 5 * time.Minute}, nil)
	subject := e.subject("alice")
	tgt := exchange.Target{Audiences: []string{"api-a"}}
	old, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
	require.NoError(t, err)

	// The authority holds the refresh until it closes at the end of the
	// test; every hit meanwhile returns at once with the cached token.
	e.a.InjectFaults(1, testutil.Fault{Kind: testutil.FaultStatus, Status: 503, Delay: time.Hour})
	e.clock.Advance(refreshDue)
	for range 100 {
		tok, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
		require.NoError(t, err)
		assert.Equal(t, old.AccessToken, tok.AccessToken)
	}
	testutil.WaitFor(t, "the refresh to reach the authority", func() bool { return e.x.Stats().Exchanges == 2 })
	assert.Equal(t, uint64(1), e.x.Stats().Refreshes)
}

func TestFailedRefreshKeepsOldTokenUntilExpiry(t *testing.T) {
	e := newEnv(t, refreshOpts, testutil.Options{TokenLifetime: 5 * time.Minute}, nil)
	subject := e.subject("alice")
	tgt := exchange.Target{Audiences: []string{"api-a"}}
	old, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
	require.NoError(t, err)

	e.a.InjectFaults(1, testutil.Fault{Kind: testutil.FaultStatus, Status: 503})
	e.clock.Advance(refreshDue)
	tok, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
	require.NoError(t, err)
	assert.Equal(t, old.AccessToken, tok.AccessToken)
	testutil.WaitFor(t, "the refresh to fail", func() bool { return e.x.Stats().RefreshFailures == 1 })

	// Hits go on with the old token; no new attempt within the retry
	// interval.
	tok, err = e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
	require.NoError(t, err)
	assert.Equal(t, old.AccessToken, tok.AccessToken)
	assert.Equal(t, uint64(1), e.x.Stats().Refreshes)

	// Until the entry ends: then a caller waits for a new token.
	e.clock.Advance(270*time.Second - refreshDue)
	tok, err = e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
	require.NoError(t, err)
	assert.NotEqual(t, old.AccessToken, tok.AccessToken)
	assert.Equal(t, 1, e.a.FaultsServed())
}

func TestRefreshJitterBringsRefreshForward(t *testing.T) {
	// With the largest jitter, a refresh is due somewhere in the first
	// half of the life; at half it must have been due.
	e := newEnv(t, exchange.Options{RefreshAhead: 0.5, RefreshJitter: 0.49}, testutil.Options{TokenLifetime: 5 * time.Minute}, nil)
	subject := e.subject("alice")
	tgt := exchange.Target{Audiences: []string{"api-a"}}
	_, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
	require.NoError(t, err)
	e.clock.Advance(refreshDue)
	_, err = e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
	require.NoError(t, err)
	testutil.WaitFor(t, "the refresh", func() bool { return e.exchanges() == 2 })
	assert.Equal(t, uint64(1), e.x.Stats().Refreshes)
}
