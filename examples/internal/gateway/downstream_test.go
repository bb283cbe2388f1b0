package gateway

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestDownstreamTimeout checks -downstream-timeout: a downstream that
// accepts the request and never answers gets its request cancelled, and
// the caller gets 502 or 504 instead of waiting as long as the
// downstream does.
func TestDownstreamTimeout(t *testing.T) {
	entered, cancelled := make(chan struct{}), make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		close(entered)
		<-r.Context().Done()
		close(cancelled)
	}))
	t.Cleanup(hung.Close)
	s := startRun(t, []string{
		"-listen", "127.0.0.1:0", "-token-url", "http://127.0.0.1:1/token", "-client-id", "gw",
		"-route", "/api/slow=" + hung.URL + ";mode=none", "-insecure-skip-validation",
		"-downstream-timeout", "300ms",
	}, func(g *Gateway) http.Handler {
		return g.Authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { g.Proxy(w, r, "slow") }))
	}, nil)

	c := dial(t, s.addr)
	if _, err := fmt.Fprint(c, "GET /api/slow/x HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer anything\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-entered:
	case <-time.After(guard):
		t.Fatal("the request never reached the downstream")
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer while the downstream hangs: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway && resp.StatusCode != http.StatusGatewayTimeout {
		t.Errorf("status %d, want 502 or 504", resp.StatusCode)
	}
	select {
	case <-cancelled:
	case <-time.After(guard):
		t.Fatal("the downstream request was never cancelled")
	}
}
