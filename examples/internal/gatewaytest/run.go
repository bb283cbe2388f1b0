package gatewaytest

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/examples/internal/gateway"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// RunEmbedded runs the whole program path of the embedded demo: an
// embedded authority and services, the walkthrough, the commands to try,
// then a graceful shutdown.
func RunEmbedded(t *testing.T, newRouter Router) {
	cfg, err := gateway.ParseFlags("test", []string{"-listen", "127.0.0.1:0"}, noEnv)
	require.NoError(t, err)
	require.True(t, cfg.Embedded() && cfg.Walkthrough)
	var out testutil.LogBuffer
	base := runUntilReady(t, cfg, newRouter, &out, nil)

	text := out.String()
	for _, want := range []string{
		"sub=alice  aud=orders  act=gateway",
		"sub=alice  aud=billing  act=(none)",
		"token exchanges at the authority: none, cache hit",
		`WWW-Authenticate: Bearer realm="gateway"`,
		"curl -H \"Authorization: Bearer $TOKEN\" " + base + "/api/orders/42",
	} {
		assert.Contains(t, text, want)
	}
	tok := text[strings.Index(text, "TOKEN='")+len("TOKEN='"):]
	tok = tok[:strings.IndexByte(tok, '\'')]
	resp, _ := do(t, http.MethodGet, base+"/api/orders/42", tok, "")
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the printed token works")

	// The printed operations commands work on the demo.
	assert.Contains(t, text, "curl "+base+"/readyz")
	assert.Contains(t, text, "curl -s "+base+"/metrics")
	resp, body := do(t, http.MethodGet, base+"/readyz", "", "")
	assert.Equal(t, http.StatusOK, resp.StatusCode, body)
	resp, body = do(t, http.MethodGet, base+"/metrics", "", "")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, "\ngo_goroutines ")
}

// RunFlags runs a gateway configured by flags and environment variables
// against a testutil authority: nothing embedded starts, the ready line
// names the address, and requests flow.
func RunFlags(t *testing.T, newRouter Router) {
	a := testutil.NewAuthority(t, testutil.Options{})
	a.AddClient(testutil.Client{ID: ClientID, Secret: ClientSecret, ExchangeAudiences: []string{"orders"}})
	orders := testutil.NewResourceServer(t, a, "orders")
	env := map[string]string{
		"TX_CLIENT_SECRET": ClientSecret,
		"TX_JWKS_URL":      a.JWKSURL(),
		"TX_ROUTE":         "/api/orders=" + orders.URL + ";scope=orders.read",
	}
	cfg, err := gateway.ParseFlags("test", []string{
		"-listen", "127.0.0.1:0", "-issuer", a.Issuer(), "-client-id", ClientID,
	}, func(k string) string { return env[k] })
	require.NoError(t, err)

	var out, logs testutil.LogBuffer
	base := runUntilReady(t, cfg, newRouter, &out, slog.New(slog.NewTextHandler(&logs, nil)))
	assert.Empty(t, out.String(), "no walkthrough with a real authority")
	assert.Contains(t, logs.String(), `msg="gateway ready" addr=`+strings.TrimPrefix(base, "http://"))

	resp, _ := do(t, http.MethodGet, base+"/api/orders/7", a.UserToken(User, "cli", ClientID), "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	got := last(t, orders)
	assert.Equal(t, []string{"orders"}, got.Audience, "default audience: the service name")
	assert.Equal(t, "orders.read", got.Scope)
	assert.Equal(t, "/api/orders/7", got.Path)
	assert.Positive(t, a.DiscoveryCount(), "the token endpoint found by discovery from -issuer")
}

// RunEmbeddedQuiet runs the embedded demo with -walkthrough=false: no
// walkthrough, but the commands to try still print, the printed token
// works, and inbound tokens are validated with the embedded authority's
// keys.
func RunEmbeddedQuiet(t *testing.T, newRouter Router) {
	cfg, err := gateway.ParseFlags("test", []string{"-listen", "127.0.0.1:0", "-walkthrough=false"}, noEnv)
	require.NoError(t, err)
	require.True(t, cfg.Embedded())
	require.False(t, cfg.Walkthrough)
	var out, logs testutil.LogBuffer
	base := runUntilReady(t, cfg, newRouter, &out, debugLogger(&logs))

	text := out.String()
	assert.NotContains(t, text, "Walkthrough")
	assert.Contains(t, text, "Try it")
	assert.Contains(t, text, "curl -H \"Authorization: Bearer $TOKEN\" "+base+"/api/orders/42")
	i := strings.Index(text, "TOKEN='")
	require.GreaterOrEqual(t, i, 0, text)
	tok := text[i+len("TOKEN='"):]
	tok = tok[:strings.IndexByte(tok, '\'')]
	resp, body := do(t, http.MethodGet, base+"/api/orders/42", tok, "")
	assert.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Contains(t, body, `"sub":"alice"`)

	resp, _ = do(t, http.MethodGet, base+"/api/orders/42", "garbage", "")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Contains(t, logs.String(), `msg="inbound token refused"`, "refused by the gateway's validation, not at exchange")
	assert.NotContains(t, logs.String(), "not validated")
}

// RunUnvalidated checks the gateway without -jwks-url: routes on which
// nothing would check the caller's token (client, passthrough, none) are
// refused at startup unless -insecure-skip-validation says otherwise, and
// the startup warning says what is and is not checked.
func RunUnvalidated(t *testing.T, newRouter Router) {
	a := testutil.NewAuthority(t, testutil.Options{})
	a.AddClient(testutil.Client{ID: ClientID, Secret: ClientSecret, ExchangeAudiences: []string{"orders", "reports"}})
	orders := testutil.NewResourceServer(t, a, "orders")
	reports := testutil.NewResourceServer(t, a, "reports")
	env := func(k string) string {
		return map[string]string{"TX_CLIENT_SECRET": ClientSecret}[k]
	}
	args := []string{"-listen", "127.0.0.1:0", "-token-url", a.TokenURL(), "-client-id", ClientID}
	clientRoute := "/api/reports=" + reports.URL + ";mode=client;audience=reports"

	// A client-mode route without validation: refused at startup.
	_, err := gateway.ParseFlags("test", append(args, "-route", clientRoute), env)
	require.ErrorContains(t, err, "-route /api/reports: mode client needs -jwks-url")
	var stdout, stderr testutil.LogBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	code := gateway.Main(ctx, "test", append(args, "-route", clientRoute), env, &stdout, &stderr, newRouter)
	assert.Equal(t, 2, code, stderr.String())
	assert.NotContains(t, stderr.String(), "gateway ready")
	cfg := Config(a, []string{clientRoute})
	cfg.JWKSURL = ""
	_, err = gateway.New(context.Background(), cfg, nil)
	require.ErrorContains(t, err, "needs -jwks-url", "gateway.New checks too")

	// An exchange route without validation runs; the authority refuses
	// a made-up token at exchange.
	cfg, err = gateway.ParseFlags("test", append(args, "-route", "/api/orders="+orders.URL), env)
	require.NoError(t, err)
	var logs testutil.LogBuffer
	base := runUntilReady(t, cfg, newRouter, nil, debugLogger(&logs))
	assert.Contains(t, logs.String(), `level=WARN msg="inbound tokens are not validated here (no -jwks-url, no introspection): the authority checks them only when it exchanges them`)
	resp, _ := do(t, http.MethodGet, base+"/api/orders/1", "garbage", "")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Empty(t, orders.Received())

	// -insecure-skip-validation runs the client route unvalidated, with
	// a loud warning: a made-up token then reaches it.
	cfg, err = gateway.ParseFlags("test", append(args, "-route", clientRoute, "-insecure-skip-validation"), env)
	require.NoError(t, err)
	logs.Reset()
	base = runUntilReady(t, cfg, newRouter, nil, debugLogger(&logs))
	assert.Contains(t, logs.String(), `level=WARN msg="INSECURE: inbound tokens are not validated`)
	assert.Contains(t, logs.String(), "routes=/api/reports")
	resp, _ = do(t, http.MethodGet, base+"/api/reports/secret", "garbage", "")
	assert.Equal(t, http.StatusOK, resp.StatusCode, "what the flag allows")
	assert.Equal(t, ClientID, last(t, reports).Subject)
}

// RunWrongIssuer checks that an -issuer whose discovery is answered, but
// with no document for that issuer (404 here; another issuer, or no
// token endpoint, alike: authority.IsPermanent), stops the program at
// startup (exit 1, one clear line, no "gateway ready"): no retry can
// cure a wrong flag. An authority that cannot be reached is another
// matter: see RunUnreachableAuthority.
func RunWrongIssuer(t *testing.T, newRouter Router) {
	a := testutil.NewAuthority(t, testutil.Options{})
	a.AddClient(testutil.Client{ID: ClientID, Secret: ClientSecret, ExchangeAudiences: []string{"orders"}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var stdout, stderr testutil.LogBuffer
	code := gateway.Main(ctx, "test", []string{
		"-listen", "127.0.0.1:0", "-issuer", a.Issuer() + "/wrong", "-client-id", ClientID,
		"-jwks-url", a.JWKSURL(), "-route", "/api/orders=http://127.0.0.1:1",
	}, func(k string) string { return map[string]string{"TX_CLIENT_SECRET": ClientSecret}[k] }, &stdout, &stderr, newRouter)
	assert.Equal(t, 1, code)
	logs := stderr.String()
	assert.NotContains(t, logs, "gateway ready")
	assert.Equal(t, 1, strings.Count(logs, "\n"), logs)
	assert.Contains(t, logs, `level=ERROR msg="gateway failed" error="discovery from -issuer `+a.Issuer()+"/wrong: ")
	assert.NotContains(t, logs, ClientSecret)
}

// runUntilReady runs the gateway until it is ready and returns its base
// URL; tb.Cleanup stops it and checks that it shut down cleanly.
func runUntilReady(tb testing.TB, cfg gateway.Config, newRouter Router, out *testutil.LogBuffer, logger *slog.Logger) string {
	tb.Helper()
	if out == nil {
		out = new(testutil.LogBuffer)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- gateway.Run(ctx, cfg, newRouter, gateway.RunOptions{
			Stdout: out, Logger: logger, Ready: func(u string) { ready <- u },
		})
	}()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("Run: %v", err)
		}
	})
	select {
	case u := <-ready:
		return u
	case err := <-done:
		tb.Fatalf("Run returned before ready: %v", err)
		return ""
	}
}

func noEnv(string) string { return "" }
