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

// issuedReply is a token-exchange response for access with expiresIn, as
// written in JSON, for its expires_in.
func issuedReply(access, expiresIn string) testutil.Fault {
	return testutil.Fault{Kind: testutil.FaultRaw, Status: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		Body: `{"access_token":"` + access + `","token_type":"Bearer","issued_token_type":"` + authority.TokenTypeAccessToken + `","expires_in":` + expiresIn + `}`}
}

// A token issued with no lifetime goes to the callers of the flight that
// obtained it and is never cached: the next call exchanges again.
func TestZeroLifetimeTokenIsNeverCached(t *testing.T) {
	for _, expiresIn := range []string{"0", `"0"`, "0.4"} {
		t.Run(expiresIn, func(t *testing.T) {
			e := newEnv(t, noRefresh, testutil.Options{}, nil)
			subject := e.subject("alice")
			tgt := exchange.Target{Audiences: []string{"api-a"}}
			e.a.InjectFaults(1, issuedReply("zero-lifetime-token", expiresIn))

			tok, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
			require.NoError(t, err)
			assert.Equal(t, "zero-lifetime-token", tok.AccessToken)
			assert.True(t, tok.ZeroLifetime())

			next, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
			require.NoError(t, err)
			assert.NotEqual(t, "zero-lifetime-token", next.AccessToken, "a zero-lifetime token was served from the cache")
			assert.Equal(t, "alice", claims(t, next).Subject())
			assert.Equal(t, 1, e.a.FaultsServed())
			assert.Equal(t, 1, e.exchanges())
			assert.Equal(t, uint64(2), e.x.Stats().Exchanges)
		})
	}
}

// A token of positive lifetime that expired before its reply was read is
// an error, never served nor cached: rule "never serve an expired token".
func TestExpiredIssuedTokenIsAnError(t *testing.T) {
	slow := &testutil.SlowReplies{}
	e := newEnv(t, noRefresh, testutil.Options{}, &http.Client{Transport: slow})
	slow.Base, slow.Clock, slow.By = e.a.Client().Transport, e.clock, 10*time.Second
	subject := e.subject("alice")
	tgt := exchange.Target{Audiences: []string{"api-a"}}
	e.a.InjectFaults(1, issuedReply("short-lived-token", "5"))

	tok, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
	require.Error(t, err, "got %v", tok)
	assert.Contains(t, err.Error(), "expired")
	assert.NotContains(t, err.Error(), "short-lived-token")

	slow.By = 0
	next, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
	require.NoError(t, err)
	assert.Equal(t, "alice", claims(t, next).Subject())
	assert.Equal(t, uint64(2), e.x.Stats().Exchanges, "nothing was cached")
}

// A refresh that gets a zero-lifetime token replaces nothing: it counts as
// a failed refresh, the old token keeps being served, and hits do not
// start another refresh before the retry interval, as after a failure.
func TestZeroLifetimeRefreshIsAFailure(t *testing.T) {
	e := newEnv(t, refreshOpts, testutil.Options{TokenLifetime: 5 * time.Minute}, nil)
	subject := e.subject("alice")
	tgt := exchange.Target{Audiences: []string{"api-a"}}
	old, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
	require.NoError(t, err)

	e.a.InjectFaults(1, issuedReply("zero-lifetime-token", "0"))
	e.clock.Advance(refreshDue)
	tok, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
	require.NoError(t, err)
	assert.Equal(t, old.AccessToken, tok.AccessToken)
	testutil.WaitFor(t, "the refresh to end", func() bool { return e.x.Stats().RefreshFailures == 1 })

	for range 50 {
		tok, err = e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
		require.NoError(t, err)
		assert.Equal(t, old.AccessToken, tok.AccessToken, "the zero-lifetime token replaced the entry")
	}
	assert.Equal(t, uint64(1), e.x.Stats().Refreshes, "a hit started another refresh at once")
	assert.Equal(t, 1, e.a.FaultsServed())
}
