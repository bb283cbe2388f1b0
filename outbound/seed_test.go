package outbound_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/outbound"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// TestPasswordGrantTransport is the seed documents' resource-owner
// transport end to end: a technical account's token by the password
// grant, a downstream 401 renewed with the refresh token and resent, and,
// once the session behind the refresh token is removed, a 401 renewed by
// a fresh password grant ("Session not active").
func TestPasswordGrantTransport(t *testing.T) {
	e := newEnv(t)
	e.a.AddUser("svc-report", "report-password")
	own := authority.NewCachedSource(e.client, authority.PasswordRequest{
		Username: "svc-report",
		Password: "report-password",
		Extra:    url.Values{"audience": {"billing"}},
	}, authority.CachedSourceOptions{})
	tr := newTransport(t, outbound.Options{Routes: []outbound.Route{
		{URL: e.billing.URL, Mode: outbound.ModeOwnToken, Tokens: own},
	}})

	require.Equal(t, http.StatusOK, mustGet(t, tr, "", e.billing.URL+"/invoices/1"))
	assert.Equal(t, 1, e.a.Count(testutil.GrantPassword))

	e.billing.FailNext(1, http.StatusUnauthorized)
	require.Equal(t, http.StatusOK, mustGet(t, tr, "", e.billing.URL+"/invoices/2"), "renewed and resent once")
	assert.Equal(t, 1, e.a.Count(testutil.GrantRefreshToken), "the renewal used the refresh token")
	assert.Equal(t, 1, e.a.Count(testutil.GrantPassword))

	e.a.RevokeUserSessions("svc-report")
	e.billing.FailNext(1, http.StatusUnauthorized)
	require.Equal(t, http.StatusOK, mustGet(t, tr, "", e.billing.URL+"/invoices/3"))
	assert.Equal(t, 2, e.a.Count(testutil.GrantRefreshToken), "the refresh was tried and refused")
	assert.Equal(t, 2, e.a.Count(testutil.GrantPassword), "then a fresh password grant")

	got := e.billing.Received()
	require.Len(t, got, 5)
	for _, r := range []testutil.Received{got[0], got[2], got[4]} {
		assert.True(t, r.Authorized, r.Err)
		assert.Equal(t, "svc-report", r.Subject)
	}
	assert.NotEqual(t, got[1].Token, got[2].Token, "the resend carried a new token")
	assert.NotEqual(t, got[3].Token, got[4].Token)
}
