package gateway

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-tokenexchange/tokenexchange/testutil"
)

func TestParseFlagsIntrospection(t *testing.T) {
	iss := []string{"-issuer", "https://kc.example/realms/r", "-client-id", "gateway"}
	tokURL := []string{"-token-url", "https://kc.example/realms/r/token", "-client-id", "gateway"}
	pass := []string{"-route", "/api/p=http://h:1;mode=passthrough"}
	cat := func(parts ...[]string) []string { return slices.Concat(parts...) }
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		err  string // "" for valid
	}{
		{"url validates passthrough", cat(iss, pass, []string{"-introspection-url", "https://kc.example/introspect"}), nil, ""},
		{"discovery validates passthrough", cat(iss, pass, []string{"-introspect"}), nil, ""},
		{"environment", cat(iss, pass), map[string]string{"TX_INTROSPECT": "true", "TX_INTROSPECTION_MAX_AGE": "5s"}, ""},
		{"url with token url", cat(iss, tokURL[:2], pass, []string{"-introspection-url", "https://kc.example/introspect"}), nil, ""},
		{"both", cat(iss, pass, []string{"-introspect", "-jwks-url", "https://kc.example/certs"}), nil, ""},
		{"no validation", cat(iss, pass), nil, "needs -jwks-url or introspection"},
		{"no issuer", cat(tokURL, pass, []string{"-introspection-url", "https://kc.example/introspect"}), nil, "needs -issuer"},
		{"discovery off", cat(iss, tokURL[:2], pass, []string{"-introspect"}), nil, "give -introspection-url"},
		{"bad url", cat(iss, pass, []string{"-introspection-url", "kc.example/introspect"}), nil, "-introspection-url: \"kc.example/introspect\" is not an absolute"},
		{"insecure", cat(iss, pass, []string{"-introspect", "-insecure-skip-validation"}), nil, "contradict"},
		{"max age alone", cat(iss, []string{"-route", "/api/e=http://h:1", "-introspection-max-age", "5s"}), nil, "-introspection-max-age needs"},
		{"max age zero", cat(iss, pass, []string{"-introspect", "-introspection-max-age", "0s"}), nil, "-introspection-max-age"},
		{"embedded", []string{"-introspect"}, nil, "need -issuer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ParseFlags("gw", tc.args, envOf(tc.env))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || strings.Contains(err.Error(), "\n") {
					t.Errorf("err %v, want one line with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !cfg.introspects() || !cfg.validates() || len(cfg.unvalidated()) != 0 {
				t.Errorf("introspection not on: %+v", cfg)
			}
			if tc.env != nil && cfg.IntrospectionMaxAge != 5*time.Second {
				t.Errorf("TX_INTROSPECTION_MAX_AGE: %v", cfg.IntrospectionMaxAge)
			}
		})
	}
}

// introspectingGateway runs a gateway validating by introspection at a
// (with -jwks-url too when jwks), in front of the route orders (exchange,
// audience orders) and pass (passthrough to a downstream that echoes the
// token's length). maxAge is -introspection-max-age (0: the default).
type introspectingGateway struct {
	url    string
	orders *testutil.ResourceServer
	g      *Gateway
	logs   *testutil.LogBuffer // the gateway's logs, Debug and up
}

// checkNoLeak fails the test if a token appears in the gateway's logs or
// /metrics.
func (gw introspectingGateway) checkNoLeak(t *testing.T, tokens ...string) {
	t.Helper()
	_, metrics := send(t, http.MethodGet, gw.url+"/metrics", "")
	for _, tok := range tokens {
		if strings.Contains(gw.logs.String(), tok) || strings.Contains(metrics, tok) {
			t.Errorf("a token leaked into the logs or /metrics")
		}
	}
}

func startIntrospectingGateway(t *testing.T, a *testutil.Authority, jwks bool, maxAge time.Duration) introspectingGateway {
	t.Helper()
	orders := testutil.NewResourceServer(t, a, "orders")
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "passed")
	}))
	t.Cleanup(echo.Close)
	cfg := Config{
		Issuer:              a.Issuer(),
		ClientID:            "gateway",
		ClientSecret:        "gateway-secret",
		HTTPClient:          a.Client(),
		Introspect:          true, // from discovery
		IntrospectionMaxAge: maxAge,
	}
	if jwks {
		cfg.JWKSURL = a.JWKSURL()
	}
	for _, s := range []string{"/api/orders=" + orders.URL + ";audience=orders", "/api/pass=" + echo.URL + ";mode=passthrough"} {
		r, err := ParseRoute(s)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Routes = append(cfg.Routes, r)
	}
	logs := new(testutil.LogBuffer)
	g, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", g.Readyz)
	mux.HandleFunc("GET /metrics", g.Metrics)
	mux.Handle("/api/{service}/", g.Authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.Proxy(w, r, r.PathValue("service"))
	})))
	srv := httptest.NewServer(g.AccessLog(mux))
	t.Cleanup(srv.Close)
	return introspectingGateway{url: srv.URL, orders: orders, g: g, logs: logs}
}

func newIntrospectionAuthority(t *testing.T) *testutil.Authority {
	a := testutil.NewAuthority(t, testutil.Options{})
	a.AddClient(testutil.Client{ID: "gateway", Secret: "gateway-secret", ExchangeAudiences: []string{"orders"}})
	return a
}

// TestGatewayIntrospection: an opaque token validated by introspection
// reaches a passthrough route, and is the subject of an exchange on an
// exchange route (the downstream sees the user); the answer is cached
// (one introspection for several requests); tokens the endpoint calls
// inactive, or issued for another audience, are refused with 401.
func TestGatewayIntrospection(t *testing.T) {
	a := newIntrospectionAuthority(t)
	gw := startIntrospectingGateway(t, a, false, 0)
	alice := a.IssueOpaqueToken(testutil.TokenClaims{Subject: "alice", ClientID: "web", Audience: []string{"gateway"}})

	for range 3 {
		if resp, body := send(t, http.MethodGet, gw.url+"/api/pass/x", alice); resp.StatusCode != http.StatusOK || body != "passed" {
			t.Fatalf("passthrough: %d %q", resp.StatusCode, body)
		}
	}
	if n := a.Introspections(); n != 1 {
		t.Errorf("%d introspections for one token, want 1 (cached)", n)
	}
	resp, body := send(t, http.MethodGet, gw.url+"/api/orders/1", alice)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("exchange with an opaque subject: %d %s", resp.StatusCode, body)
	}
	got := gw.orders.Received()
	if len(got) != 1 || got[0].Subject != "alice" {
		t.Errorf("orders received %+v, want one request for alice", got)
	}

	for _, tc := range []struct{ name, token string }{
		{"unknown", "opaque.unknown-to-the-authority"},
		{"other audience", a.IssueOpaqueToken(testutil.TokenClaims{Subject: "bob", Audience: []string{"billing"}})},
		{"expired", a.IssueOpaqueToken(testutil.TokenClaims{Subject: "carol", Audience: []string{"gateway"}, IssuedAt: time.Now().Add(-2 * time.Hour), Expiry: time.Now().Add(-time.Hour)})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := send(t, http.MethodGet, gw.url+"/api/pass/x", tc.token)
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
				t.Errorf("%d %q %s, want 401 invalid_token", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
			}
		})
	}
	if resp, body := send(t, http.MethodGet, gw.url+"/readyz", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("/readyz: %d %s", resp.StatusCode, body)
	}
	gw.checkNoLeak(t, alice, "opaque.unknown-to-the-authority")
}

// TestGatewayIntrospectionRevoked: a token revoked at the authority keeps
// passing while its answer is cached (within -introspection-max-age), and
// is refused once the answer is older: here the window is a nanosecond,
// so the next request asks again.
func TestGatewayIntrospectionRevoked(t *testing.T) {
	a := newIntrospectionAuthority(t)
	cached := startIntrospectingGateway(t, a, false, time.Hour)
	fresh := startIntrospectingGateway(t, a, false, time.Nanosecond)
	tok := a.IssueOpaqueToken(testutil.TokenClaims{Subject: "alice", Audience: []string{"gateway"}})
	for _, gw := range []introspectingGateway{cached, fresh} {
		if resp, _ := send(t, http.MethodGet, gw.url+"/api/pass/x", tok); resp.StatusCode != http.StatusOK {
			t.Fatalf("before revocation: %d", resp.StatusCode)
		}
	}
	if !a.Revoke(tok) {
		t.Fatal("the authority does not know its token")
	}
	if resp, _ := send(t, http.MethodGet, cached.url+"/api/pass/x", tok); resp.StatusCode != http.StatusOK {
		t.Errorf("within the window: %d, want 200 from the cache", resp.StatusCode)
	}
	if resp, _ := send(t, http.MethodGet, fresh.url+"/api/pass/x", tok); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("after the window: %d, want 401", resp.StatusCode)
	}
}

// TestGatewayIntrospectionUnavailable: an endpoint answering 503 with
// Retry-After, an HTML page, malformed JSON or a 500 makes the gateway
// answer 503 (with the endpoint's Retry-After when it sent one), never
// let the token through, and /readyz report it until an introspection
// succeeds again.
func TestGatewayIntrospectionUnavailable(t *testing.T) {
	a := newIntrospectionAuthority(t)
	gw := startIntrospectingGateway(t, a, false, 0)
	for _, tc := range []struct {
		name       string
		fault      testutil.Fault
		retryAfter string
	}{
		{"503 with Retry-After", testutil.Fault{Status: http.StatusServiceUnavailable, Header: http.Header{"Retry-After": {"7"}}}, "7"},
		{"500", testutil.Fault{Status: http.StatusInternalServerError}, ""},
		{"html", testutil.Fault{Kind: testutil.FaultHTML}, ""},
		{"malformed json", testutil.Fault{Kind: testutil.FaultMalformedJSON}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := a.IssueOpaqueToken(testutil.TokenClaims{Subject: "alice", Audience: []string{"gateway"}})
			a.FailIntrospection(1, tc.fault)
			resp, body := send(t, http.MethodGet, gw.url+"/api/pass/x", tok)
			if resp.StatusCode != http.StatusServiceUnavailable || body == "passed" {
				t.Fatalf("%d %s, want 503", resp.StatusCode, body)
			}
			var e struct{ Error string }
			if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error != "temporarily_unavailable" {
				t.Errorf("body %q", body)
			}
			if tc.retryAfter != "" && resp.Header.Get("Retry-After") != tc.retryAfter {
				t.Errorf("Retry-After %q, want %q", resp.Header.Get("Retry-After"), tc.retryAfter)
			}
			if strings.Contains(body, tok) {
				t.Error("the token leaked into the answer")
			}
			if resp, body := send(t, http.MethodGet, gw.url+"/readyz", ""); resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "introspection endpoint") {
				t.Errorf("/readyz after a failed introspection: %d %q", resp.StatusCode, body)
			}
			// The endpoint is back: the same token passes, and the gateway is ready.
			if resp, _ := send(t, http.MethodGet, gw.url+"/api/pass/x", tok); resp.StatusCode != http.StatusOK {
				t.Errorf("after recovery: %d", resp.StatusCode)
			}
			if resp, body := send(t, http.MethodGet, gw.url+"/readyz", ""); resp.StatusCode != http.StatusOK {
				t.Errorf("/readyz after recovery: %d %q", resp.StatusCode, body)
			}
			gw.checkNoLeak(t, tok)
		})
	}
}

// TestGatewayJWKSAndIntrospection: with both, a JWT is verified with the
// keys (no introspection) and an opaque token introspected.
func TestGatewayJWKSAndIntrospection(t *testing.T) {
	a := newIntrospectionAuthority(t)
	gw := startIntrospectingGateway(t, a, true, 0)
	jwt := a.UserToken("alice", "web", "gateway")
	if resp, body := send(t, http.MethodGet, gw.url+"/api/pass/x", jwt); resp.StatusCode != http.StatusOK {
		t.Fatalf("JWT: %d %s", resp.StatusCode, body)
	}
	if n := a.Introspections(); n != 0 {
		t.Errorf("a JWT was introspected (%d)", n)
	}
	opaque := a.IssueOpaqueToken(testutil.TokenClaims{Subject: "bob", Audience: []string{"gateway"}})
	if resp, body := send(t, http.MethodGet, gw.url+"/api/pass/x", opaque); resp.StatusCode != http.StatusOK {
		t.Fatalf("opaque: %d %s", resp.StatusCode, body)
	}
	if n := a.Introspections(); n != 1 {
		t.Errorf("%d introspections, want 1", n)
	}
	// A JWT-shaped string the keys do not verify is refused by the JWT side.
	if resp, _ := send(t, http.MethodGet, gw.url+"/api/pass/x", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("forged JWT: %d, want 401", resp.StatusCode)
	}
	if n := a.Introspections(); n != 1 {
		t.Errorf("a forged JWT was introspected (%d)", n)
	}
}

// TestIntrospectionNotLoaded: until the introspection validator is
// loaded, a token is answered 503 with Retry-After (never let through),
// and /readyz says why.
func TestIntrospectionNotLoaded(t *testing.T) {
	rd := &readiness{introErr: errNotTried}
	cfg := Config{Introspect: true}
	v := inboundValidator(cfg, rd)
	h := newBearer(cfg, rd, "", slog.New(slog.DiscardHandler), nil)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		t.Error("a token passed while introspection is not loaded")
	}))
	if _, ok := v.(introspection); !ok {
		t.Fatalf("validator %T, want the loading adapter", v)
	}
	req := httptest.NewRequest(http.MethodGet, "/api/pass/x", nil)
	req.Header.Set("Authorization", "Bearer opaque.abc")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "5" {
		t.Errorf("%d Retry-After %q, want 503 and 5", rec.Code, rec.Header().Get("Retry-After"))
	}
	if err := rd.err(); err == nil || !strings.Contains(err.Error(), "introspection endpoint") {
		t.Errorf("readiness: %v", err)
	}
}
