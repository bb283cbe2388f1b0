package outbound_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
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

// TestNoTokenLeaks drives every error path, checks the status each maps to,
// and asserts that no token or secret appears in an error's text (any
// verb), a log line (transport and ErrorHandler, at Debug level) or an
// error response.
func TestNoTokenLeaks(t *testing.T) {
	e := newEnv(t)
	var logs testutil.LogBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	// The flight timeout ends the "timeout" case (a 5 s delay) sooner; it
	// must leave the other cases, such as a 1 MiB oversize reply on a
	// loaded machine, time to complete.
	x, err := exchange.New(e.client, exchange.Options{FlightTimeout: 2 * time.Second})
	require.NoError(t, err)
	t.Cleanup(x.Close)
	badClient, err := authority.New(authority.Config{TokenURL: e.a.TokenURL(), ClientID: "gateway", ClientSecret: "wrong-secret-do-not-leak", HTTPClient: e.a.Client()})
	require.NoError(t, err)
	actor := e.ownTokens("billing")
	unlisted := newHeaderLog(t, nil)
	hop := newHeaderLog(t, map[string]string{"/away": unlisted.URL})
	tr := newTransport(t, outbound.Options{Exchanger: x, Logger: logger, Routes: []outbound.Route{
		{URL: e.orders.URL, Mode: outbound.ModeExchange, Target: exchange.Target{Audiences: []string{"orders"}}},
		{URL: e.orders.URL + "/passed", Mode: outbound.ModePassThrough},
		{URL: e.billing.URL + "/own", Mode: outbound.ModeOwnToken, Tokens: authority.NewCachedSource(badClient, authority.ClientCredentialsRequest{}, authority.CachedSourceOptions{})},
		{URL: e.billing.URL + "/actor", Mode: outbound.ModeExchange, Target: exchange.Target{
			Audiences: []string{"billing"},
			Actor:     authority.NewCachedSource(badClient, authority.ClientCredentialsRequest{}, authority.CachedSourceOptions{}),
		}},
		{URL: e.billing.URL + "/actor-ok", Mode: outbound.ModeExchange, Target: exchange.Target{Audiences: []string{"billing"}, Actor: actor}},
		{URL: e.billing.URL + "/forbidden", Mode: outbound.ModeExchange, Target: exchange.Target{Audiences: []string{"unknown-audience"}}},
		{URL: hop.URL, Mode: outbound.ModeExchange, Target: exchange.Target{Audiences: []string{"orders"}}},
	}})
	handle := outbound.ErrorHandler(logger)

	var secrets []string
	subject := func(n int) string {
		tok := e.a.UserToken(fmt.Sprintf("user%d", n), "web")
		secrets = append(secrets, tok)
		return tok
	}
	oauth := func(status int, code string) func() {
		return func() {
			e.a.InjectFaults(1, testutil.Fault{Kind: testutil.FaultOAuthError, Status: status, Body: code})
		}
	}
	fault := func(f testutil.Fault) func() { return func() { e.a.InjectFaults(1, f) } }

	tests := []struct {
		name   string
		setup  func()
		path   string // on orders unless it starts with http
		body   func() io.Reader
		noSubj bool // an anonymous inbound context
		// detached: a context not from the inbound request (implies noSubj)
		detached bool
		status   int // the answer to the caller; 0 means no error expected
		header   string
	}{
		{name: "no route", path: "http://127.0.0.1:1/x", status: http.StatusBadGateway},
		{name: "no subject", path: "/x", noSubj: true, status: http.StatusUnauthorized, header: "Bearer"},
		{name: "no subject pass-through", path: "/passed", noSubj: true, status: http.StatusUnauthorized},
		{name: "no inbound context", path: "/x", noSubj: true, detached: true, status: http.StatusInternalServerError},
		{name: "no inbound context pass-through", path: "/passed", noSubj: true, detached: true, status: http.StatusInternalServerError},
		{name: "invalid_request", setup: oauth(400, "invalid_request"), path: "/x", status: 401, header: `Bearer error="invalid_token"`},
		{name: "invalid_grant", setup: oauth(400, "invalid_grant"), path: "/x", status: 401, header: `Bearer error="invalid_token"`},
		{name: "access_denied", setup: oauth(403, "access_denied"), path: "/x", status: 403},
		{name: "invalid_target", setup: oauth(400, "invalid_target"), path: "/x", status: 502},
		{name: "invalid_client", setup: oauth(401, "invalid_client"), path: "/x", status: 502},
		{name: "unauthorized_client", setup: oauth(400, "unauthorized_client"), path: "/x", status: 502},
		{name: "invalid_scope", setup: oauth(400, "invalid_scope"), path: "/x", status: 502},
		{name: "server_error", setup: oauth(500, "server_error"), path: "/x", status: 503},
		{name: "503 with Retry-After", setup: fault(testutil.Fault{Status: 503, Header: http.Header{"Retry-After": {"7"}}}), path: "/x", status: 503, header: "7"},
		{name: "html", setup: fault(testutil.Fault{Kind: testutil.FaultHTML, Status: 502}), path: "/x", status: 503},
		{name: "malformed json", setup: fault(testutil.Fault{Kind: testutil.FaultMalformedJSON}), path: "/x", status: 502},
		{name: "empty", setup: fault(testutil.Fault{Kind: testutil.FaultEmpty}), path: "/x", status: 502},
		{name: "oversize", setup: fault(testutil.Fault{Kind: testutil.FaultOversize}), path: "/x", status: 502},
		{name: "dropped connection", setup: fault(testutil.Fault{Kind: testutil.FaultDrop}), path: "/x", status: 503},
		{name: "timeout", setup: fault(testutil.Fault{Delay: 5 * time.Second}), path: "/x", status: 503},
		{name: "echoing server", path: "/x", status: 401}, // setup below: the error echoes the subject token
		{name: "expired subject", path: "/x", status: 401},
		{name: "unknown audience", path: "http-billing/forbidden", status: 502},
		{name: "own token refused", path: "http-billing/own", status: 502},
		{name: "actor token refused", path: "http-billing/actor", status: 502},
		{name: "invalid_request on an actor route", setup: func() {
			_, err := actor.Token(context.Background()) // the actor token first, so that the fault hits the exchange
			require.NoError(t, err)
			oauth(400, "invalid_request")()
		}, path: "http-billing/actor-ok", status: 502},
		{name: "401 loop", setup: func() { e.orders.FailNext(2, http.StatusUnauthorized) }, path: "/loop"},
		{name: "401 not replayable", setup: func() { e.orders.FailNext(1, http.StatusUnauthorized) }, path: "/stream", body: func() io.Reader { return io.NopCloser(strings.NewReader("s")) }},
		{name: "redirect to unlisted", path: "http-hop/away", status: http.StatusBadGateway},
	}
	var errTexts []string
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub := subject(i)
			switch tt.name {
			case "echoing server":
				e.a.InjectFaults(1, testutil.Fault{Kind: testutil.FaultRaw, Status: 400, Header: http.Header{"Content-Type": {"application/json"}},
					Body: `{"error":"invalid_request","error_description":"subject_token ` + sub + ` rejected"}`})
			case "expired subject":
				sub = e.a.IssueToken(testutil.TokenClaims{Subject: "late", IssuedAt: time.Now().Add(-time.Hour), Expiry: time.Now().Add(-time.Minute)})
				secrets = append(secrets, sub)
			}
			if tt.setup != nil {
				tt.setup()
			}
			url := e.orders.URL + tt.path
			switch {
			case strings.HasPrefix(tt.path, "http-billing"):
				url = e.billing.URL + strings.TrimPrefix(tt.path, "http-billing")
			case strings.HasPrefix(tt.path, "http-hop"):
				url = hop.URL + strings.TrimPrefix(tt.path, "http-hop")
			case strings.HasPrefix(tt.path, "http"):
				url = tt.path
			}
			ctx := context.Background()
			switch {
			case !tt.noSubj:
				ctx = middleware.NewContext(ctx, sub)
			case !tt.detached:
				ctx = middleware.NewContext(ctx, "") // as the middleware passes on an anonymous caller
			}
			var body io.Reader
			if tt.body != nil {
				body = tt.body()
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, body)
			require.NoError(t, err)
			if !tt.noSubj {
				req.Header.Set("Authorization", "Bearer "+sub) // as a reverse proxy copies it
			}
			resp, err := (&http.Client{Transport: tr}).Do(req)
			if tt.status == 0 {
				require.NoError(t, err)
				assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
				_ = resp.Body.Close()
				return
			}
			require.Error(t, err)
			errTexts = append(errTexts, err.Error(), fmt.Sprintf("%v|%+v|%#v|%s|%q", err, err, err, err, err))
			rec := httptest.NewRecorder()
			handle(rec, req, err)
			assert.Equal(t, tt.status, rec.Code, err.Error())
			if tt.header != "" {
				h := rec.Header().Get("WWW-Authenticate") + rec.Header().Get("Retry-After")
				assert.Equal(t, tt.header, h)
			}
			errTexts = append(errTexts, rec.Body.String(), fmt.Sprint(rec.Header()))
		})
	}
	require.Positive(t, len(errTexts))

	secrets = append(secrets, gatewaySecret, "wrong-secret-do-not-leak")
	for _, r := range e.orders.Received() {
		secrets = append(secrets, r.Token)
	}
	for _, r := range e.a.Requests() {
		for _, k := range []string{"subject_token", "actor_token", "client_secret"} {
			secrets = append(secrets, r.Form.Get(k))
		}
	}
	out := logs.String() + strings.Join(errTexts, "\n")
	assert.Contains(t, logs.String(), "invalid_request", "the authority's text reaches the log")
	assert.Contains(t, logs.String(), "401 not retried", "retries are logged")
	checked := 0
	for _, s := range secrets {
		if len(s) < 8 {
			continue
		}
		checked++
		require.NotContains(t, out, s)
		if i := strings.LastIndexByte(s, '.'); i > 0 && len(s)-i > 16 {
			require.NotContains(t, out, s[i+1:], "a token's signature")
		}
	}
	assert.Greater(t, checked, len(tests))
}
