package authority_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tokenReply is a token response with expiresIn, as written in JSON, for
// its expires_in.
func tokenReply(access, expiresIn string) testutil.Fault {
	return testutil.Fault{Kind: testutil.FaultRaw, Status: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		Body: `{"access_token":"` + access + `","token_type":"Bearer","expires_in":` + expiresIn + `}`}
}

func TestCachedSourceZeroLifetime(t *testing.T) {
	for _, expiresIn := range []string{"0", `"0"`, "0.5"} {
		t.Run(expiresIn, func(t *testing.T) {
			clock := newFakeClock()
			a := newAuthority(t, testutil.Options{Now: clock.Now})
			c := newClient(t, a, authority.Config{ClientID: "gateway", ClientSecret: "gateway-secret", Now: clock.Now})
			ts := authority.NewCachedSource(c, authority.ClientCredentialsRequest{}, authority.CachedSourceOptions{})
			ctx := context.Background()

			a.InjectFaults(1, tokenReply("zero-lifetime-token", expiresIn))
			tok, err := ts.Token(ctx)
			require.NoError(t, err)
			assert.Equal(t, "zero-lifetime-token", tok.AccessToken, "the caller of the renewal that obtained it gets it")
			assert.True(t, tok.ZeroLifetime())

			next, err := ts.Token(ctx)
			require.NoError(t, err)
			assert.NotEqual(t, "zero-lifetime-token", next.AccessToken, "a zero-lifetime token is never returned a second time")
			assert.False(t, next.ZeroLifetime())
			assert.Equal(t, 1, a.FaultsServed())
			assert.Equal(t, 1, a.Count(authority.GrantClientCredentials))
		})
	}
}

// A background renewal that brings a zero-lifetime token, or a token that
// expired before its reply was read, keeps the current token and counts
// as a failure: the next renewal waits for the backoff.
func TestCachedSourceUselessRenewalBacksOff(t *testing.T) {
	tests := []struct {
		name  string
		reply testutil.Fault
		slow  time.Duration
	}{
		{name: "zero lifetime", reply: tokenReply("zero-lifetime-token", "0")},
		// 5s of life, read 10s after the request was sent.
		{name: "expired on arrival", reply: tokenReply("short-lived-token", "5"), slow: 10 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			a := newAuthority(t, testutil.Options{Now: clock.Now, TokenLifetime: 2 * time.Minute})
			slow := &testutil.SlowReplies{Base: a.Client().Transport, Clock: clock}
			c := newClient(t, a, authority.Config{ClientID: "gateway", ClientSecret: "gateway-secret", Now: clock.Now, HTTPClient: &http.Client{Transport: slow}})
			ts := authority.NewCachedSource(c, authority.ClientCredentialsRequest{}, authority.CachedSourceOptions{Skew: 60 * time.Second})
			ended := renewalEnds(ts)
			ctx := context.Background()
			first, err := ts.Token(ctx)
			require.NoError(t, err)
			require.NoError(t, waitRenewal(t, ended))

			a.InjectFaults(1000, tt.reply)
			slow.By = tt.slow
			clock.Advance(70 * time.Second) // inside the skew, still valid
			tok, err := ts.Token(ctx)
			require.NoError(t, err)
			assert.Same(t, first, tok)
			_ = waitRenewal(t, ended) // the renewal has ended, its reply in hand
			for range 100 {
				tok, err := ts.Token(ctx)
				require.NoError(t, err, "the current token is served while renewals fail")
				assert.Same(t, first, tok)
			}
			assert.Equal(t, 1, a.FaultsServed(), "a failed renewal waits before the next one")
			assert.Equal(t, 1, a.Count(authority.GrantClientCredentials))
		})
	}
}

// A token whose positive lifetime ran out before its reply was read is a
// failed renewal, never returned.
func TestCachedSourceExpiredOnArrival(t *testing.T) {
	clock := newFakeClock()
	a := newAuthority(t, testutil.Options{Now: clock.Now, TokenLifetime: 5 * time.Second})
	slow := &testutil.SlowReplies{Base: a.Client().Transport, Clock: clock, By: 10 * time.Second}
	c := newClient(t, a, authority.Config{ClientID: "gateway", ClientSecret: "gateway-secret", Now: clock.Now, HTTPClient: &http.Client{Transport: slow}})
	ts := authority.NewCachedSource(c, authority.ClientCredentialsRequest{}, authority.CachedSourceOptions{})

	tok, err := ts.Token(context.Background())
	require.Error(t, err, "got %v", tok)
	assert.Nil(t, tok)
	assert.Contains(t, err.Error(), "expired")
	assert.True(t, authority.IsTemporary(err), "a slow reply may be faster next time")
	assert.False(t, authority.IsPermanent(err))
}
