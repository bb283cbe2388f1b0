package gatewaytest

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/propagation"

	"github.com/go-tokenexchange/tokenexchange/examples/internal/gateway"
	"github.com/go-tokenexchange/tokenexchange/internal/oteltest"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// Router builds an example's router from a gateway.
type Router func(*gateway.Gateway) http.Handler

// Names used by Start.
const (
	ClientID     = "gateway"
	ClientSecret = "gateway-secret"
	User         = "alice"
)

// Env is a running gateway with its authority and downstream services.
type Env struct {
	Authority *testutil.Authority
	// Orders (aud orders, exchange with the gateway as actor), Billing
	// (aud billing, exchange), Pass (aud gateway, pass-through; also
	// behind /api/open with no token) and Own (aud reports, the gateway's
	// own token).
	Orders, Billing, Pass, Own *testutil.ResourceServer
	Gateway                    *gateway.Gateway
	// URL is the gateway's base URL.
	URL string
	// Logs holds the gateway's logs, Debug level and up, the access log
	// included.
	Logs *testutil.LogBuffer
	// Traces records the spans of every component of the gateway.
	Traces *oteltest.Traces

	mu     sync.Mutex
	tokens []string // every token sent through Do, for the leak check
}

// Start runs a gateway built by newRouter in front of a fresh authority
// and four services, one per route mode. Everything is closed by
// tb.Cleanup.
func Start(tb testing.TB, newRouter Router) *Env {
	tb.Helper()
	a := testutil.NewAuthority(tb, testutil.Options{})
	a.AddClient(testutil.Client{ID: ClientID, Secret: ClientSecret, ExchangeAudiences: []string{"orders", "billing", "reports"}})
	e := &Env{
		Authority: a,
		Orders:    testutil.NewResourceServer(tb, a, "orders"),
		Billing:   testutil.NewResourceServer(tb, a, "billing"),
		Pass:      testutil.NewResourceServer(tb, a, ClientID),
		Own:       testutil.NewResourceServer(tb, a, "reports"),
	}
	cfg := Config(a, []string{
		"/api/orders=" + e.Orders.URL + ";audience=orders;scope=orders.read;actor=true",
		"/api/billing=" + e.Billing.URL + ";audience=billing",
		"/api/pass=" + e.Pass.URL + ";mode=passthrough",
		"/api/own=" + e.Own.URL + ";mode=client;audience=reports",
		"/api/open=" + e.Pass.URL + ";mode=none",
	})
	e.Logs = new(testutil.LogBuffer)
	e.Traces = oteltest.NewTraces(tb)
	cfg.TracerProvider = e.Traces.Provider
	cfg.Propagator = propagation.TraceContext{}
	g, err := gateway.New(context.Background(), cfg, debugLogger(e.Logs))
	if err != nil {
		tb.Fatalf("gateway.New: %v", err)
	}
	tb.Cleanup(g.Close)
	srv := httptest.NewServer(g.AccessLog(g.ProtectedResource(newRouter(g))))
	tb.Cleanup(srv.Close)
	e.Gateway, e.URL = g, srv.URL
	return e
}

// Config returns a gateway configuration for authority a, with inbound
// validation on and the given routes.
func Config(a *testutil.Authority, routes []string) gateway.Config {
	cfg := gateway.Config{
		Issuer:       a.Issuer(),
		TokenURL:     a.TokenURL(),
		JWKSURL:      a.JWKSURL(),
		ClientID:     ClientID,
		ClientSecret: ClientSecret,
	}
	for _, s := range routes {
		r, err := gateway.ParseRoute(s)
		if err != nil {
			panic("gatewaytest: " + err.Error())
		}
		cfg.Routes = append(cfg.Routes, r)
	}
	return cfg
}

// debugLogger returns a text logger to w that logs everything.
func debugLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// UserToken returns a fresh token for User, issued for the gateway. Each
// call opens a new session, so each token is a new cache key.
func (e *Env) UserToken() string {
	return e.Authority.UserToken(User, "cli", ClientID)
}

// Do sends method path with token ("" for none) and returns the response
// with its body read. The token is remembered for [Env.CheckNoLeaks].
func (e *Env) Do(tb testing.TB, method, path, token, body string) (*http.Response, string) {
	tb.Helper()
	if token != "" {
		e.mu.Lock()
		e.tokens = append(e.tokens, token)
		e.mu.Unlock()
	}
	return do(tb, method, e.URL+path, token, body)
}

func do(tb testing.TB, method, u, token, body string) (*http.Response, string) {
	tb.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		tb.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, (&url.URL{Path: req.URL.Path}).String(), err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp, string(b)
}

// last returns the last request rs received, failing when there is none.
func last(tb testing.TB, rs *testutil.ResourceServer) testutil.Received {
	tb.Helper()
	got := rs.Received()
	if len(got) == 0 {
		tb.Fatalf("%s received nothing", rs.Audience)
	}
	return got[len(got)-1]
}
