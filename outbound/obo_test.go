package outbound_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/outbound"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

func TestStatusForOnBehalfOf(t *testing.T) {
	const claims = `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`
	b64 := base64.StdEncoding.EncodeToString([]byte(claims))
	obo := func(e authority.Error) error {
		e.Grant = authority.GrantJWTBearer
		if e.StatusCode == 0 {
			e.StatusCode = 400
		}
		return &outbound.TokenError{Route: "https://orders.internal", Mode: outbound.ModeExchange, Err: fmt.Errorf("exchange: %w", &e)}
	}
	tests := []struct {
		name   string
		err    error
		status int
		header string
		code   string // the JSON body's "error"
	}{
		{"invalid_grant (expired assertion)", obo(authority.Error{Code: "invalid_grant", Description: "AADSTS500133: Assertion is not within its valid time range.", ErrorCodes: []int{500133}}), 401, `Bearer error="invalid_token"`, "invalid_token"},
		{"consent_required", obo(authority.Error{Code: "consent_required", ErrorCodes: []int{65001}}), 403, "", "access_denied"},
		{"access_denied", obo(authority.Error{Code: "access_denied"}), 403, "", "access_denied"},
		{"interaction_required with claims", obo(authority.Error{Code: "interaction_required", Claims: claims}), 401, `Bearer realm="", error="insufficient_claims", claims="` + b64 + `"`, "insufficient_claims"},
		{"with authorization_uri", obo(authority.Error{Code: "interaction_required", Claims: claims, AuthorizationURI: "https://login.microsoftonline.com/t/oauth2/v2.0/authorize"}), 401,
			`Bearer realm="", authorization_uri="https://login.microsoftonline.com/t/oauth2/v2.0/authorize", error="insufficient_claims", claims="` + b64 + `"`, "insufficient_claims"},
		{"unquotable authorization_uri left out", obo(authority.Error{Code: "interaction_required", Claims: claims, AuthorizationURI: `https://x/"a`}), 401, `Bearer realm="", error="insufficient_claims", claims="` + b64 + `"`, "insufficient_claims"},
		{"interaction_required without claims", obo(authority.Error{Code: "interaction_required"}), 401, `Bearer error="invalid_token"`, "invalid_token"},
		{"claims not JSON", obo(authority.Error{Code: "interaction_required", Claims: `{"a":`}), 401, `Bearer error="invalid_token"`, "invalid_token"},
		{"claims not an object", obo(authority.Error{Code: "interaction_required", Claims: `["a"]`}), 401, `Bearer error="invalid_token"`, "invalid_token"},
		{"claims too large", obo(authority.Error{Code: "interaction_required", Claims: `{"a":"` + strings.Repeat("x", 3000) + `"}`}), 401, `Bearer error="invalid_token"`, "invalid_token"},
		{"invalid_request (configuration)", obo(authority.Error{Code: "invalid_request"}), 502, "", "bad_gateway"},
		{"invalid_scope", obo(authority.Error{Code: "invalid_scope"}), 502, "", "bad_gateway"},
		{"invalid_client", obo(authority.Error{Code: "invalid_client", StatusCode: 401}), 502, "", "bad_gateway"},
		{"temporarily_unavailable", obo(authority.Error{Code: "temporarily_unavailable", StatusCode: 503}), 503, "", "temporarily_unavailable"},
		{"own-token route", &outbound.TokenError{Mode: outbound.ModeOwnToken, Err: &authority.Error{Grant: authority.GrantJWTBearer, Code: "invalid_grant", StatusCode: 400}}, 502, "", "bad_gateway"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, h := outbound.StatusFor(tt.err)
			assert.Equal(t, tt.status, status)
			assert.Equal(t, tt.header, h.Get("WWW-Authenticate"))
			w := httptest.NewRecorder()
			outbound.WriteError(w, nil, tt.err)
			assert.Equal(t, tt.status, w.Code)
			assert.Contains(t, w.Body.String(), `"error":"`+tt.code+`"`)
		})
	}
}

// TestOnBehalfOfThroughProxy runs On-Behalf-Of routes through
// NewReverseProxy against the test authority: the downstream gets an
// Entra-shaped token, and each refusal reaches the caller as its status
// with the claims challenge passed through; the caller's token appears in
// no log.
func TestOnBehalfOfThroughProxy(t *testing.T) {
	a := testutil.NewAuthority(t, testutil.Options{})
	a.AddClient(testutil.Client{ID: "mid", Secret: gatewaySecret})
	a.RequireConsent("api://billing/.default")
	a.RequireStepUp("api://payroll/.default", "c1")
	down := testutil.NewResourceServer(t, a, "api://orders")
	c, err := authority.New(authority.Config{Issuer: a.Issuer(), ClientID: "mid", ClientSecret: gatewaySecret, HTTPClient: a.Client()})
	require.NoError(t, err)
	x := newExchanger(t, c)
	route := func(path, scope string) outbound.Route {
		return outbound.Route{Name: path, URL: down.URL + path, Mode: outbound.ModeExchange,
			Target: exchange.Target{Dialect: exchange.DialectEntraOBO, Scopes: []string{scope}}}
	}
	tr := newTransport(t, outbound.Options{Exchanger: x, Routes: []outbound.Route{
		route("/orders", "api://orders/.default"),
		route("/billing", "api://billing/.default"),
		route("/payroll", "api://payroll/.default"),
	}})
	target, err := url.Parse(down.URL)
	require.NoError(t, err)
	logs := &testutil.LogBuffer{}
	gw := httptest.NewServer(middleware.Bearer(middleware.Options{})(outbound.NewReverseProxy(target, tr, slog.New(slog.NewTextHandler(logs, nil)))))
	t.Cleanup(gw.Close)

	alice := a.IssueToken(testutil.TokenClaims{Subject: "alice", Audience: []string{"mid"}})
	steppedUp := a.IssueToken(testutil.TokenClaims{Subject: "alice", Audience: []string{"mid"}, Extra: map[string]any{"acrs": []string{"c1"}}})
	forWeb := a.IssueToken(testutil.TokenClaims{Subject: "alice", Audience: []string{"web"}})
	expired := a.IssueToken(testutil.TokenClaims{Subject: "alice", Audience: []string{"mid"}, Expiry: time.Now().Add(-time.Minute)})
	claimsB64 := base64.StdEncoding.EncodeToString([]byte(testutil.StepUpClaims("c1")))
	tests := []struct {
		name, path, token string
		status            int
		challenge         string
	}{
		{"success", "/orders/1", alice, 200, ""},
		{"assertion for another app", "/orders/1", forWeb, 401, `Bearer error="invalid_token"`},
		{"expired assertion", "/orders/1", expired, 401, `Bearer error="invalid_token"`},
		{"consent", "/billing/1", alice, 403, ""},
		{"step-up", "/payroll/1", alice, 401, `Bearer realm="", authorization_uri="` + a.URL + `/authorize", error="insufficient_claims", claims="` + claimsB64 + `"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, gw.URL+tt.path, nil)
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+tt.token)
			resp, err := gw.Client().Do(req)
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			assert.Equal(t, tt.status, resp.StatusCode, string(body))
			assert.Equal(t, tt.challenge, resp.Header.Get("WWW-Authenticate"))
			assert.NotContains(t, string(body), tt.token)
		})
	}
	got := down.Received()
	require.Len(t, got, 1)
	assert.True(t, got[0].Authorized, got[0].Err)
	assert.Equal(t, "alice", got[0].Subject)
	assert.Equal(t, []string{"api://orders"}, got[0].Audience)

	// After the step-up, the caller's new token passes.
	tok, err := x.Exchange(context.Background(), authority.NewSubjectToken(steppedUp), route("/payroll", "api://payroll/.default").Target)
	require.NoError(t, err)
	assert.NotEmpty(t, tok.AccessToken)
	for _, tok := range []string{alice, forWeb, expired, steppedUp} {
		assert.NotContains(t, logs.String(), tok)
	}
	assert.Contains(t, logs.String(), "AADSTS50076", "the operator sees Entra's code")
}
