package gatewaytest

import (
	"net/http"
	"path"
	"strings"
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
		// Every mode: on passthrough, client and none routes the
		// gateway's validation is the only check.
		for _, path := range []string{"/api/orders/42", "/api/own/secret", "/api/pass/x", "/api/open/x"} {
			resp, _ := e.Do(t, http.MethodGet, path, tok, "")
			assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, name, path)
			assert.Contains(t, resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`, name, path)
		}
	}
	assert.Empty(t, e.Orders.Received())
	assert.Empty(t, e.Own.Received())
	assert.Empty(t, e.Pass.Received())
	assert.Zero(t, e.Authority.Count(testutil.GrantTokenExchange), "no exchange for a refused token")
	assert.Zero(t, e.Authority.Count(testutil.GrantClientCredentials), "no own token for a refused caller")
	assert.Contains(t, e.Logs.String(), `level=DEBUG msg="inbound token refused"`, "refusals are logged at Debug")
	assert.NotContains(t, e.Logs.String(), "eyJ", "no token in the logs")
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

// testNonCanonicalPaths sends paths whose dot segments or encoded
// slashes, dots or backslashes could name another route: each is answered
// by the gateway (400, or the router's redirect to the clean path),
// reaches no downstream and costs no log line above Debug.
func testNonCanonicalPaths(t *testing.T, e *Env) {
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	tok := e.UserToken()
	for _, p := range []string{
		"/api/orders/../billing/7",
		"/api/orders/./7",
		"/api/orders//7",
		"/api/orders/%2e%2e/billing/7",
		"/api/orders/%2E%2E/billing/7",
		"/api/orders/..%2Fbilling/7",
		"/api/orders/a%2fb",
		"/api/orders/a%5Cb",
		"/api/orders/a%2Eb",
		"/api/orders/a\\b",
	} {
		req, err := http.NewRequest(http.MethodGet, e.URL+p, nil)
		require.NoError(t, err, p)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := noRedirect.Do(req)
		require.NoError(t, err, p)
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusBadRequest:
		case resp.StatusCode/100 == 3: // http.ServeMux cleans literal dot segments itself
			loc := resp.Header.Get("Location")
			assert.Equal(t, path.Clean(req.URL.Path), loc, p)
		default:
			t.Errorf("GET %s: status %d, want 400", p, resp.StatusCode)
		}
	}
	// A clean path with a trailing slash is fine.
	resp, _ := e.Do(t, http.MethodGet, "/api/orders/7/", tok, "")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Len(t, e.Orders.Received(), 1)
	assert.Empty(t, e.Billing.Received())
	assert.NotContains(t, e.Logs.String(), "level=WARN")
}

// testFailureLoggedOnce checks that one failed request makes one log
// line: the error handler's, not also the outbound transport's.
func testFailureLoggedOnce(t *testing.T, e *Env) {
	e.Authority.InjectFaults(1, testutil.Fault{Kind: testutil.FaultStatus, Status: 503})
	resp, _ := e.Do(t, http.MethodGet, "/api/billing/1", e.UserToken(), "")
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	logs := e.Logs.String()
	assert.Equal(t, 1, strings.Count(logs, "level=WARN"), logs)
	assert.Equal(t, 1, strings.Count(logs, `msg="outbound: request failed"`), logs)
	assert.Contains(t, logs, "status=503")
}
