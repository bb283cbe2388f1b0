package gatewaytest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// Run runs the end-to-end specification against the router newRouter
// builds: forwarding, caching, refusals, the fan-out, every route mode,
// /readyz, /metrics and the access log. After each test on an [Env] it
// checks that no token, secret or subject reached the metrics, the spans
// or the logs ([Env.CheckNoLeaks]).
func Run(t *testing.T, newRouter Router) {
	for _, tc := range []struct {
		name string
		test func(*testing.T, *Env)
	}{
		{"ForwardsWithExchangedToken", testForwards},
		{"SecondCallIsCacheHit", testCacheHit},
		{"RefusesMissingToken", testMissingToken},
		{"RefusesInvalidTokens", testInvalidTokens},
		{"UnknownServiceIs404", testUnknownService},
		{"AuthorityRefusals", testAuthorityRefusals},
		{"RefusalAfterDownstream401", testRefusalAfterRetry},
		{"SummaryFansOut", testSummary},
		{"SummaryRefused", testSummaryRefused},
		{"RouteModes", testModes},
		{"HealthzNeedsNoToken", testHealthz},
		{"NonCanonicalPathsRefused", testNonCanonicalPaths},
		{"FailureLoggedOnce", testFailureLoggedOnce},
		{"ReadyzWhenLoaded", testReadyz},
		{"MetricsRuntime", testMetricsRuntime},
		{"MetricsLibrary", testMetricsLibrary},
		{"AccessLog", testAccessLog},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := Start(t, newRouter)
			tc.test(t, e)
			e.CheckNoLeaks(t)
		})
	}
	t.Run("Embedded", func(t *testing.T) { t.Parallel(); RunEmbedded(t, newRouter) })
	t.Run("RealAuthorityByFlags", func(t *testing.T) { t.Parallel(); RunFlags(t, newRouter) })
	t.Run("EmbeddedWithoutWalkthrough", func(t *testing.T) { t.Parallel(); RunEmbeddedQuiet(t, newRouter) })
	t.Run("UnvalidatedRoutes", func(t *testing.T) { t.Parallel(); RunUnvalidated(t, newRouter) })
	t.Run("WrongIssuerFailsStartup", func(t *testing.T) { t.Parallel(); RunWrongIssuer(t, newRouter) })
	t.Run("ClientKey", func(t *testing.T) { t.Parallel(); RunClientKey(t, newRouter) })
	t.Run("UnreachableAuthorityAtStart", func(t *testing.T) { t.Parallel(); RunUnreachableAuthority(t, newRouter) })
}

func testForwards(t *testing.T, e *Env) {
	resp, _ := e.Do(t, http.MethodPost, "/api/orders/42?x=1", e.UserToken(), `{"qty":2}`)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	got := last(t, e.Orders)
	assert.True(t, got.Authorized, got.Err)
	assert.Equal(t, User, got.Subject)
	assert.Equal(t, []string{"orders"}, got.Audience)
	assert.Equal(t, []string{ClientID}, got.Act, "the gateway acts for the user")
	assert.Equal(t, "orders.read", got.Scope)
	assert.Equal(t, "/api/orders/42", got.Path, "the gateway strips nothing from the path")
	assert.Equal(t, http.MethodPost, got.Method)
	assert.JSONEq(t, `{"qty":2}`, string(got.Body))

	resp, _ = e.Do(t, http.MethodGet, "/api/billing", e.UserToken(), "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	got = last(t, e.Billing)
	assert.Equal(t, User, got.Subject)
	assert.Equal(t, []string{"billing"}, got.Audience)
	assert.Empty(t, got.Act, "no actor configured for billing")
}

func testCacheHit(t *testing.T, e *Env) {
	tok := e.UserToken()
	for range 2 {
		resp, _ := e.Do(t, http.MethodGet, "/api/orders/1", tok, "")
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	n := e.Authority.Count(testutil.GrantTokenExchange)
	resp, _ := e.Do(t, http.MethodGet, "/api/orders/2", tok, "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, 1, n, "one exchange for two calls")
	assert.Equal(t, n, e.Authority.Count(testutil.GrantTokenExchange), "third call: no exchange")
	assert.Equal(t, uint64(2), e.Gateway.Stats().Hits)
	assert.Len(t, e.Orders.Received(), 3)
}

func testSummary(t *testing.T, e *Env) {
	resp, body := e.Do(t, http.MethodGet, "/summary", e.UserToken(), "")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	var parts map[string]struct {
		Status int
		Body   json.RawMessage
	}
	require.NoError(t, json.Unmarshal([]byte(body), &parts))
	type answer struct {
		Audience string   `json:"audience"`
		Sub      string   `json:"sub"`
		Act      []string `json:"act"`
		Path     string   `json:"path"`
	}
	got := map[string]answer{}
	for _, svc := range []string{"orders", "billing", "pass", "own"} {
		var a answer
		assert.Equal(t, http.StatusOK, parts[svc].Status, svc)
		assert.NoError(t, json.Unmarshal(parts[svc].Body, &a), svc)
		assert.Equal(t, "/api/"+svc+"/summary", a.Path, svc)
		got[svc] = a
	}
	assert.Equal(t, http.StatusUnauthorized, parts["open"].Status, "mode none: no token")
	for _, svc := range []string{"orders", "billing"} {
		assert.Equal(t, User, got[svc].Sub, svc)
		assert.Equal(t, svc, got[svc].Audience, svc)
	}
	assert.Equal(t, []string{ClientID}, got["orders"].Act)
	assert.Empty(t, got["billing"].Act)
	assert.Equal(t, []string{"orders"}, last(t, e.Orders).Audience)
	assert.Equal(t, []string{"billing"}, last(t, e.Billing).Audience)
	assert.Equal(t, User, got["pass"].Sub, "pass-through")
	assert.Equal(t, ClientID, got["own"].Sub, "own token")
}

func testModes(t *testing.T, e *Env) {
	tok := e.UserToken()
	resp, _ := e.Do(t, http.MethodGet, "/api/pass/x", tok, "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, tok, last(t, e.Pass).Token, "pass-through forwards the caller's token")

	resp, _ = e.Do(t, http.MethodGet, "/api/own/x", tok, "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	got := last(t, e.Own)
	assert.Equal(t, ClientID, got.Subject, "the gateway's own token")
	assert.Equal(t, []string{"reports"}, got.Audience)
	assert.NotEqual(t, tok, got.Token)
	assert.Zero(t, e.Authority.Count(testutil.GrantTokenExchange))

	resp, _ = e.Do(t, http.MethodGet, "/api/open/x", tok, "")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "the downstream's own 401")
	got = last(t, e.Pass)
	assert.Equal(t, "/api/open/x", got.Path)
	assert.Empty(t, got.Token, "mode none: the caller's token is not forwarded")
}

func testHealthz(t *testing.T, e *Env) {
	resp, body := e.Do(t, http.MethodGet, "/healthz", "", "")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "ok", strings.TrimSpace(body))
}
