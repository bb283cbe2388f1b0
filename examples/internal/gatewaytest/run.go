package gatewaytest

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

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
	var out syncBuffer
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

	var out, logs syncBuffer
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

// runUntilReady runs the gateway until it is ready and returns its base
// URL; tb.Cleanup stops it and checks that it shut down cleanly.
func runUntilReady(tb testing.TB, cfg gateway.Config, newRouter Router, out *syncBuffer, logger *slog.Logger) string {
	tb.Helper()
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

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

// Write implements io.Writer.
func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written.
func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
