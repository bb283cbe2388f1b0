package gatewaytest

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/testutil"
)

func testMissingToken(t *testing.T, e *Env) {
	for _, path := range []string{"/api/orders/42", "/summary", "/api/nosuch/1"} {
		resp, _ := e.Do(t, http.MethodGet, path, "", "")
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, path)
		assert.Equal(t, `Bearer realm="gateway"`, resp.Header.Get("WWW-Authenticate"), path)
	}
	assert.Empty(t, e.Orders.Received())
	assert.Zero(t, e.Authority.Count(testutil.GrantTokenExchange))
}

func testInvalidTokens(t *testing.T, e *Env) {
	other := testutil.NewAuthority(t, testutil.Options{})
	for name, tok := range map[string]string{
		"garbage":         "not-a-jwt",
		"wrong audience":  e.Authority.UserToken(User, "cli", "orders"),
		"foreign issuer":  other.UserToken(User, "cli", ClientID),
		"tampered":        e.UserToken() + "x",
		"exchanged token": e.Authority.IssueToken(testutil.TokenClaims{Subject: User, Audience: []string{"billing"}}),
	} {
		resp, _ := e.Do(t, http.MethodGet, "/api/orders/42", tok, "")
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, name)
		assert.Contains(t, resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`, name)
	}
	assert.Empty(t, e.Orders.Received())
}

func testUnknownService(t *testing.T, e *Env) {
	for _, path := range []string{"/api/nosuch/1", "/api/nosuch", "/nowhere"} {
		resp, _ := e.Do(t, http.MethodGet, path, e.UserToken(), "")
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, path)
	}
}

func testAuthorityRefusals(t *testing.T, e *Env) {
	for _, tc := range []struct {
		fault     testutil.Fault
		status    int
		challenge string
	}{
		{testutil.Fault{Kind: testutil.FaultOAuthError, Status: 400, Body: "invalid_request"}, http.StatusUnauthorized, `error="invalid_token"`},
		{testutil.Fault{Kind: testutil.FaultOAuthError, Status: 403, Body: "access_denied"}, http.StatusForbidden, ""},
		{testutil.Fault{Kind: testutil.FaultOAuthError, Status: 400, Body: "invalid_target"}, http.StatusBadGateway, ""},
		{testutil.Fault{Kind: testutil.FaultStatus, Status: 503, Header: http.Header{"Retry-After": {"7"}}}, http.StatusServiceUnavailable, ""},
	} {
		e.Authority.InjectFaults(1, tc.fault)
		resp, body := e.Do(t, http.MethodGet, "/api/billing/1", e.UserToken(), "")
		assert.Equal(t, tc.status, resp.StatusCode, tc.fault.Body)
		if tc.challenge != "" {
			assert.Contains(t, resp.Header.Get("WWW-Authenticate"), tc.challenge)
		}
		assert.NotContains(t, body, "eyJ", "no token in the answer")
	}
	assert.Empty(t, e.Billing.Received(), "nothing sent without a token")
}

func testRefusalAfterRetry(t *testing.T, e *Env) {
	tok := e.UserToken()
	resp, _ := e.Do(t, http.MethodGet, "/api/billing/1", tok, "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	// billing now refuses the cached token: the gateway drops it and
	// exchanges again, and the authority refuses the subject token.
	e.Billing.FailNext(1, http.StatusUnauthorized)
	e.Authority.InjectFaults(1, testutil.Fault{Kind: testutil.FaultOAuthError, Status: 400, Body: "invalid_request"})
	resp, _ = e.Do(t, http.MethodGet, "/api/billing/1", tok, "")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Contains(t, resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`)
}

func testSummaryRefused(t *testing.T, e *Env) {
	e.Authority.InjectFaults(4, testutil.Fault{Kind: testutil.FaultOAuthError, Status: 400, Body: "invalid_request"})
	resp, body := e.Do(t, http.MethodGet, "/summary", e.UserToken(), "")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, body)
	assert.Contains(t, resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`)
}
