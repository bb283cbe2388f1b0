package gateway

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/go-tokenexchange/tokenexchange/testutil"
)

func TestRouteName(t *testing.T) {
	g := &Gateway{services: map[string]bool{"orders": true, "a.b": true}}
	for path, want := range map[string]string{
		"/healthz":          "healthz",
		"/readyz":           "readyz",
		"/metrics":          "metrics",
		"/summary":          "summary",
		"/api/orders":       "orders",
		"/api/orders/":      "orders",
		"/api/orders/42/x":  "orders",
		"/api/a.b/1":        "a.b",
		"/api/ordersx/1":    "unmatched",
		"/api/alice-secret": "unmatched",
		"/api/":             "unmatched",
		"/":                 "unmatched",
		"/healthz/x":        "unmatched",
		"/summary2":         "unmatched",
	} {
		if got := g.routeName(path); got != want {
			t.Errorf("routeName(%q) = %q, want %q", path, got, want)
		}
	}
	for m, want := range map[string]string{"GET": "GET", "DELETE": "DELETE", "get": "other", "eyJhbGciOi": "other"} {
		if got := methodName(m); got != want {
			t.Errorf("methodName(%q) = %q, want %q", m, got, want)
		}
	}
}

// TestAccessLogLevels checks that the access log writes one Info line
// with the status a handler answers (or 200 when it writes nothing), and
// nothing, not even a wrapped writer, when the logger does not write
// Info (-log-level warn).
func TestAccessLogLevels(t *testing.T) {
	for _, tc := range []struct {
		name    string
		level   slog.Level
		handler http.HandlerFunc
		want    string // "" for no line
	}{
		{"info, 418", slog.LevelInfo, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) }, "status=418"},
		{"info, nothing written", slog.LevelInfo, func(http.ResponseWriter, *http.Request) {}, "status=200"},
		{"info, body only", slog.LevelInfo, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("x")) }, "status=200"},
		{"info, flushed", slog.LevelInfo, func(w http.ResponseWriter, _ *http.Request) {
			if err := http.NewResponseController(w).Flush(); err != nil {
				t.Errorf("Flush through the access log: %v", err)
			}
		}, "status=200"},
		{"warn", slog.LevelWarn, func(w http.ResponseWriter, _ *http.Request) {
			if _, ok := w.(*statusWriter); ok {
				t.Error("the writer is wrapped at warn")
			}
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			g := &Gateway{log: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: tc.level}))}
			g.AccessLog(tc.handler).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/x?q=1", nil))
			if tc.want == "" {
				if buf.Len() != 0 {
					t.Errorf("logged %q", buf.String())
				}
				return
			}
			if n := strings.Count(buf.String(), "\n"); n != 1 || !strings.Contains(buf.String(), tc.want) || !strings.Contains(buf.String(), "route=unmatched") {
				t.Errorf("logged %q, want one line with %s", buf.String(), tc.want)
			}
		})
	}
}

// TestGatewaysDoNotShareMetrics checks that each gateway has its own
// registry, and that none of it reaches the global one.
func TestGatewaysDoNotShareMetrics(t *testing.T) {
	a := testutil.NewAuthority(t, testutil.Options{})
	cfg := Config{TokenURL: a.TokenURL(), ClientID: "gateway", ClientSecret: "s", Routes: []Route{mustRoute("/api/orders=http://127.0.0.1:1")}}
	for range 2 {
		g, err := New(context.Background(), cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer g.Close()
		rec := httptest.NewRecorder()
		g.Metrics(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "\ngo_goroutines ") {
			t.Errorf("scrape: %d %.200s", rec.Code, rec.Body.String())
		}
	}
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if n := mf.GetName(); strings.HasPrefix(n, "tokenexchange_") || n == "target_info" {
			t.Errorf("the global registry holds %s", n)
		}
	}
}

// BenchmarkAccessLog measures what the access log adds to a request, in
// process: bare is the handler alone; info writes the line (a text
// handler to io.Discard); warn is -log-level warn, where it must add
// nothing.
//
//	go test -run '^$' -bench BenchmarkAccessLog -benchmem ./examples/internal/gateway/
func BenchmarkAccessLog(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	for _, bc := range []struct {
		name    string
		handler func(g *Gateway) http.Handler
		level   slog.Level
	}{
		{"bare", func(*Gateway) http.Handler { return h }, slog.LevelInfo},
		{"info", func(g *Gateway) http.Handler { return g.AccessLog(h) }, slog.LevelInfo},
		{"warn", func(g *Gateway) http.Handler { return g.AccessLog(h) }, slog.LevelWarn},
	} {
		b.Run(bc.name, func(b *testing.B) {
			g := &Gateway{
				log:      slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: bc.level})),
				services: map[string]bool{"orders": true},
			}
			hh := bc.handler(g)
			req := httptest.NewRequest(http.MethodGet, "/api/orders/42", nil)
			w := httptest.NewRecorder()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				hh.ServeHTTP(w, req)
			}
		})
	}
}
