package outbound_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/outbound"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// TestInboundContext: a handler that builds its outgoing request with
// another context than r.Context() gets ErrNoInboundContext (500, logged
// at Error by the transport's logger) on a route that needs the caller's
// token; an anonymous caller let through by Options.Optional gets
// ErrNoSubjectToken (401); WriteError writes either answer in one call.
func TestInboundContext(t *testing.T) {
	e := newEnv(t)
	alice := e.a.UserToken("alice", "web")
	logs := &testutil.LogBuffer{}
	tr := newTransport(t, outbound.Options{
		Exchanger: e.x,
		Logger:    slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Routes: []outbound.Route{
			{URL: e.orders.URL + "/exchanged", Mode: outbound.ModeExchange, Target: exchange.Target{Audiences: []string{"orders"}}},
			{URL: e.orders.URL + "/passed", Mode: outbound.ModePassThrough},
			{URL: e.billing.URL, Mode: outbound.ModeOwnToken, Tokens: e.ownTokens("billing")},
		},
	})
	api := &http.Client{Transport: tr}

	// The handler calls url with the context ctxOf gives it, and answers
	// with the downstream's status or, on failure, with WriteError; the
	// error goes to errs.
	type result struct{ err error }
	newGateway := func(optional bool, ctxOf func(*http.Request) context.Context, url string, errs chan<- result) *httptest.Server {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			req, err := http.NewRequestWithContext(ctxOf(r), http.MethodGet, url, nil)
			if err == nil {
				var resp *http.Response
				if resp, err = api.Do(req); err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
					w.WriteHeader(resp.StatusCode)
				}
			}
			errs <- result{err}
			if err != nil {
				outbound.WriteError(w, r, err)
			}
		})
		s := httptest.NewServer(middleware.Bearer(middleware.Options{Optional: optional})(h))
		t.Cleanup(s.Close)
		return s
	}
	inbound := func(r *http.Request) context.Context { return r.Context() }
	detached := func(*http.Request) context.Context { return context.Background() }
	withoutCancel := func(r *http.Request) context.Context { return context.WithoutCancel(r.Context()) }

	for _, tc := range []struct {
		name     string
		optional bool
		token    string
		ctxOf    func(*http.Request) context.Context
		url      string
		status   int
		sentinel error  // nil: success
		header   string // WWW-Authenticate
		body     string
		errorLog bool // an Error line from the transport
	}{
		{"exchange, r.Context()", false, alice, inbound, e.orders.URL + "/exchanged/1", 200, nil, "", "", false},
		{"exchange, derived from r.Context()", false, alice, withoutCancel, e.orders.URL + "/exchanged/1", 200, nil, "", "", false},
		{"exchange, forgot r.Context()", false, alice, detached, e.orders.URL + "/exchanged/1", 500, outbound.ErrNoInboundContext, "",
			`{"error":"server_error","error_description":"Internal Server Error"}`, true},
		{"pass-through, forgot r.Context()", false, alice, detached, e.orders.URL + "/passed/1", 500, outbound.ErrNoInboundContext, "",
			`{"error":"server_error","error_description":"Internal Server Error"}`, true},
		{"exchange, anonymous caller", true, "", inbound, e.orders.URL + "/exchanged/1", 401, outbound.ErrNoSubjectToken, "Bearer",
			`{"error":"missing_token","error_description":"Unauthorized"}`, false},
		{"pass-through, anonymous caller", true, "", inbound, e.orders.URL + "/passed/1", 401, outbound.ErrNoSubjectToken, "Bearer",
			`{"error":"missing_token","error_description":"Unauthorized"}`, false},
		{"own token, forgot r.Context(): no subject needed", false, alice, detached, e.billing.URL + "/invoices/1", 200, nil, "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := logs.String()
			errs := make(chan result, 1)
			gw := newGateway(tc.optional, tc.ctxOf, tc.url, errs)
			req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, gw.URL+"/x", nil)
			require.NoError(t, err)
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			res := <-errs

			assert.Equal(t, tc.status, resp.StatusCode, string(body))
			assert.Equal(t, tc.header, resp.Header.Get("WWW-Authenticate"))
			if tc.sentinel == nil {
				require.NoError(t, res.err)
			} else {
				require.ErrorIs(t, res.err, tc.sentinel)
				var te *outbound.TokenError
				assert.ErrorAs(t, res.err, &te)
				assert.JSONEq(t, tc.body, string(body))
				assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
			}
			if tc.sentinel == outbound.ErrNoInboundContext {
				assert.NotErrorIs(t, res.err, outbound.ErrNoSubjectToken)
				assert.Contains(t, res.err.Error(), "r.Context()")
			}
			logged := strings.TrimPrefix(logs.String(), before)
			assert.Equal(t, tc.errorLog, strings.Contains(logged, "level=ERROR"), logged)
			if tc.errorLog {
				assert.Contains(t, logged, "r.Context()")
			}
			assert.NotContains(t, logged, alice)
		})
	}
}

// TestWriteError: WriteError writes the status, headers and body of
// ErrorHandler, and logs nothing.
func TestWriteError(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		status int
		body   string
	}{
		{"no subject", &outbound.TokenError{Route: "r", Mode: outbound.ModeExchange, Err: outbound.ErrNoSubjectToken}, 401, `{"error":"missing_token","error_description":"Unauthorized"}`},
		{"no inbound context", &outbound.TokenError{Route: "r", Mode: outbound.ModeExchange, Err: outbound.ErrNoInboundContext}, 500, `{"error":"server_error","error_description":"Internal Server Error"}`},
		{"no route", &outbound.RouteError{Origin: "https://x"}, 502, `{"error":"bad_gateway","error_description":"Bad Gateway"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "http://gateway/x", nil)
			viaWrite, viaHandler := httptest.NewRecorder(), httptest.NewRecorder()
			outbound.WriteError(viaWrite, req, tc.err)
			outbound.ErrorHandler(nil)(viaHandler, req, tc.err)
			assert.Equal(t, tc.status, viaWrite.Code)
			assert.JSONEq(t, tc.body, viaWrite.Body.String())
			assert.Equal(t, viaHandler.Code, viaWrite.Code)
			assert.Equal(t, viaHandler.Header(), viaWrite.Header())
			assert.Equal(t, viaHandler.Body.String(), viaWrite.Body.String())
		})
	}
}

// TestErrorHandlerLevels: ErrorHandler logs a 500 (a programming error)
// at Error, a canceled caller at Debug, anything else at Warn.
func TestErrorHandlerLevels(t *testing.T) {
	for _, tc := range []struct {
		name  string
		err   error
		level string
	}{
		{"no inbound context", &outbound.TokenError{Route: "r", Mode: outbound.ModeExchange, Err: outbound.ErrNoInboundContext}, "level=ERROR"},
		{"no subject", &outbound.TokenError{Route: "r", Mode: outbound.ModeExchange, Err: outbound.ErrNoSubjectToken}, "level=WARN"},
		{"no route", &outbound.RouteError{Origin: "https://x"}, "level=WARN"},
		{"canceled", &outbound.TokenError{Route: "r", Mode: outbound.ModeExchange, Err: context.Canceled}, "level=DEBUG"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs := &testutil.LogBuffer{}
			logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			outbound.ErrorHandler(logger)(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "http://gateway/x", nil), tc.err)
			assert.True(t, strings.HasPrefix(strings.SplitN(logs.String(), " ", 2)[1], tc.level), logs.String())
		})
	}
}
