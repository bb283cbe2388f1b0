package gatewaytest

import (
	"context"
	"errors"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// accessLogFields are the keys of an access log line, in order (the text
// handler's time, level and msg first).
var accessLogFields = []string{"time", "level", "msg", "method", "route", "status", "duration", "cache"}

func testReadyz(t *testing.T, e *Env) {
	resp, body := e.Do(t, http.MethodGet, "/readyz", "", "")
	assert.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "ready\n", body)
	assert.Equal(t, "text/plain; charset=utf-8", resp.Header.Get("Content-Type"))
}

// testMetricsRuntime scrapes /metrics: the Go runtime and process
// collectors and the OpenTelemetry exporter's target_info are there,
// without a token.
func testMetricsRuntime(t *testing.T, e *Env) {
	resp, body := e.Do(t, http.MethodGet, "/metrics", "", "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, resp.Header.Get("Content-Type"), "text/plain")
	for _, name := range []string{
		"go_goroutines ", "go_gc_duration_seconds{", "go_memstats_alloc_bytes ",
		"process_cpu_seconds_total ", "process_open_fds ",
		"target_info{", // the OpenTelemetry exporter's resource
	} {
		assert.Contains(t, body, "\n"+name, "scrape lacks %s", name)
	}
}

// testMetricsLibrary makes a miss, a hit, a refused caller, a failed
// exchange and a fan-out, then finds the library's instruments in the
// scrape under their Prometheus names (dots to underscores, _seconds for
// durations in s, _total for counters), with route and target names from
// the configuration.
func testMetricsLibrary(t *testing.T, e *Env) {
	tok := e.UserToken()
	for range 2 { // a miss, a hit
		resp, _ := e.Do(t, http.MethodGet, "/api/orders/1", tok, "")
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	resp, _ := e.Do(t, http.MethodGet, "/api/own/1", tok, "") // the gateway's own token
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp, _ = e.Do(t, http.MethodGet, "/api/orders/1", "", "") // refused: no token
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	e.Authority.InjectFaults(1, testutil.Fault{Kind: testutil.FaultStatus, Status: 503})
	resp, _ = e.Do(t, http.MethodGet, "/api/billing/1", e.UserToken(), "") // exchange failed
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)

	resp, body := e.Do(t, http.MethodGet, "/metrics", "", "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	for _, want := range []string{
		// package authority (brief A)
		"tokenexchange_authority_request_duration_seconds_bucket{",
		`tokenexchange_grant="token_exchange"`,
		`tokenexchange_grant="client_credentials"`,
		"tokenexchange_token_source_renewals_total{",
		// package outbound (brief A)
		"tokenexchange_outbound_errors_total{",
		`tokenexchange_route="billing"`,
		// package exchange (brief B)
		"tokenexchange_exchange_cache_lookups_total{",
		`tokenexchange_lookup="hit"`,
		`tokenexchange_lookup="miss"`,
		"tokenexchange_exchange_duration_seconds_bucket{",
		`tokenexchange_target="orders"`,
		"tokenexchange_exchange_in_flight",
		// packages middleware and middleware/jwt (brief C)
		"tokenexchange_inbound_refusals_total{",
		`tokenexchange_reason="missing_token"`,
		"tokenexchange_jwks_fetches_total{",
	} {
		assert.Contains(t, body, want, "scrape lacks %s", want)
	}
}

// testAccessLog sends one request of each route kind and reads one
// access log line for each, in order, with exactly the fields of
// accessLogFields and none of the request's path, query or token.
func testAccessLog(t *testing.T, e *Env) {
	tok := e.UserToken()
	e.Logs.Reset()
	for _, tc := range []struct {
		method, path, token  string
		route, status, cache string
	}{
		{"GET", "/api/orders/42?q=query-secret", tok, "orders", "200", "miss"},
		{"POST", "/api/orders/42", tok, "orders", "200", "hit"},
		{"GET", "/api/orders/42", "", "orders", "401", "none"},
		{"GET", "/api/pass/x", tok, "pass", "200", "none"},
		{"GET", "/api/billing/1", tok, "billing", "200", "miss"},
		{"GET", "/summary", tok, "summary", "200", "hit"}, // orders and billing cached: whichever is last, a hit
		{"GET", "/healthz", "", "healthz", "200", "none"},
		{"GET", "/readyz", "", "readyz", "200", "none"},
		{"GET", "/metrics", "", "metrics", "200", "none"},
		{"GET", "/api/nosuch/1", tok, "unmatched", "404", "none"},
		{"GET", "/nowhere", "", "unmatched", "", "none"}, // 401 or 404: the router's choice
		{"BREW", "/healthz", "", "healthz", "", "none"},  // 405 or 200: the router's choice
	} {
		e.Logs.Reset()
		resp, _ := e.Do(t, tc.method, tc.path, tc.token, "")
		line := waitLine(t, e.Logs, "msg=request ")
		fields := strings.Fields(strings.TrimSpace(line))
		var keys []string
		got := map[string]string{}
		for _, f := range fields {
			k, v, _ := strings.Cut(f, "=")
			keys = append(keys, k)
			got[k] = v
		}
		name := tc.method + " " + tc.path
		assert.Equal(t, accessLogFields, keys, name)
		assert.Equal(t, "INFO", got["level"], name)
		wantMethod := tc.method
		if tc.method == "BREW" {
			wantMethod = "other"
		}
		assert.Equal(t, wantMethod, got["method"], name)
		assert.Equal(t, tc.route, got["route"], name)
		if tc.status != "" {
			assert.Equal(t, tc.status, got["status"], name)
		}
		assert.Equal(t, resp.Status[:3], got["status"], name)
		assert.Equal(t, tc.cache, got["cache"], name)
		_, err := time.ParseDuration(got["duration"])
		assert.NoError(t, err, name)
		for _, bad := range []string{"/api", "/summary", "/nowhere", "query-secret", "?", tok[len(tok)-20:], "Bearer"} {
			assert.NotContains(t, line, bad, name)
		}
	}
}

// waitLine waits (with a deadline) until buf holds a line containing
// marker, and returns the first one: the access log line is written when
// the handler returns, which may be after the client has its answer.
func waitLine(tb testing.TB, buf *testutil.LogBuffer, marker string) string {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, l := range strings.Split(buf.String(), "\n") {
			if strings.Contains(l, marker) {
				return l
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("no log line with %q in:\n%s", marker, buf.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// CheckNoLeaks scrapes /metrics and fails if any token sent through
// [Env.Do] or received by a downstream, the client secret or the user's
// name appears in the scrape, in any span ([oteltest.Traces.Strings]) or
// in any log line.
func (e *Env) CheckNoLeaks(t *testing.T) {
	t.Helper()
	resp, scrape := e.Do(t, http.MethodGet, "/metrics", "", "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	e.mu.Lock()
	secrets := slices.Clone(e.tokens)
	e.mu.Unlock()
	for _, rs := range []*testutil.ResourceServer{e.Orders, e.Billing, e.Pass, e.Own} {
		for _, r := range rs.Received() {
			if r.Token != "" {
				secrets = append(secrets, r.Token)
			}
		}
	}
	checkNoLeaks(t, secrets, map[string]string{
		"the /metrics scrape": scrape,
		"the spans":           strings.Join(e.Traces.Strings(), "\n"),
		"the logs":            e.Logs.String(),
	})
}

// checkNoLeaks fails if any of tokens (or a JWT's signature alone), the
// client secret or the user's name appears in any of outputs.
func checkNoLeaks(t *testing.T, tokens []string, outputs map[string]string) {
	t.Helper()
	needles := []string{ClientSecret, User}
	for _, tok := range tokens {
		needles = append(needles, tok)
		if i := strings.LastIndexByte(tok, '.'); i >= 0 && len(tok)-i > 16 {
			needles = append(needles, tok[i+1:])
		}
	}
	for where, out := range outputs {
		for _, n := range needles {
			if strings.Contains(out, n) {
				t.Errorf("%s holds a secret (%.12q...)", where, n)
			}
		}
	}
}

// RunUnreachableAuthority starts gateways whose authority cannot be
// reached: each serves anyway, /healthz answers 200, /readyz 503 with the
// reason and an authenticated route 503 with Retry-After; once the
// authority can be reached, the gateway loads what it needs in the
// background and /readyz answers 200 and requests flow.
func RunUnreachableAuthority(t *testing.T, newRouter Router) {
	for _, tc := range []struct {
		name     string
		tokenURL bool   // -token-url given: no discovery
		reason   string // the start of the 503's body
	}{
		{"discovery and keys", false, "not ready: authority metadata: "},
		{"keys only", true, "not ready: signing keys: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := testutil.NewAuthority(t, testutil.Options{})
			a.AddClient(testutil.Client{ID: ClientID, Secret: ClientSecret, ExchangeAudiences: []string{"orders"}})
			orders := testutil.NewResourceServer(t, a, "orders")
			net := newSwitchedNetwork(t)
			cfg := Config(a, []string{"/api/orders=" + orders.URL})
			if !tc.tokenURL {
				cfg.TokenURL = ""
			}
			cfg.HTTPClient = net.client
			cfg.Listen = "127.0.0.1:0"
			var logs testutil.LogBuffer
			base := runUntilReady(t, cfg, newRouter, nil, debugLogger(&logs))
			assert.Contains(t, logs.String(), `level=WARN msg="authority unreachable at startup`)
			assert.Contains(t, logs.String(), "authority down (test)")

			resp, body := do(t, http.MethodGet, base+"/healthz", "", "")
			assert.Equal(t, http.StatusOK, resp.StatusCode, "alive")
			resp, body = do(t, http.MethodGet, base+"/readyz", "", "")
			assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
			assert.True(t, strings.HasPrefix(body, tc.reason), body)
			assert.Equal(t, 1, strings.Count(body, "\n"), "one line: %q", body)
			tok := a.UserToken(User, "cli", ClientID)
			resp, body = do(t, http.MethodGet, base+"/api/orders/1", tok, "")
			assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, body)
			assert.NotEmpty(t, resp.Header.Get("Retry-After"))
			assert.Empty(t, orders.Received())

			net.up()
			deadline := time.Now().Add(45 * time.Second) // backoff 1s, 2s, ...
			for {
				resp, body = do(t, http.MethodGet, base+"/readyz", "", "")
				if resp.StatusCode == http.StatusOK || time.Now().After(deadline) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			require.Equal(t, http.StatusOK, resp.StatusCode, body)
			resp, body = do(t, http.MethodGet, base+"/api/orders/1", tok, "")
			assert.Equal(t, http.StatusOK, resp.StatusCode, body)
			assert.Contains(t, logs.String(), `msg="authority reachable: the gateway is ready"`)
			checkNoLeaks(t, []string{tok}, map[string]string{"the logs": logs.String()})
		})
	}
}

// switchedNetwork is the gateway's network to the authority, down until
// up is called: a real http.Transport whose dialer refuses while down.
type switchedNetwork struct {
	client *http.Client
	isUp   atomic.Bool
}

func newSwitchedNetwork(tb testing.TB) *switchedNetwork {
	n := new(switchedNetwork)
	t := http.DefaultTransport.(*http.Transport).Clone()
	var d net.Dialer
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if !n.isUp.Load() {
			return nil, errors.New("authority down (test)")
		}
		return d.DialContext(ctx, network, addr)
	}
	n.client = &http.Client{Transport: t}
	tb.Cleanup(t.CloseIdleConnections)
	return n
}

func (n *switchedNetwork) up() { n.isUp.Store(true) }
