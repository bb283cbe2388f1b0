package gateway

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// BenchmarkGateway drives, on loopback with parallel clients, the same
// reverse proxy in front of the same downstream three ways:
//
//   - proxy: httputil.ReverseProxy over a plain transport, no middleware;
//   - exchange: the gateway, inbound token opaque, outbound exchange from
//     the warm cache;
//   - exchange+validate: the same with inbound JWT validation (RS256);
//   - exchange+accesslog: exchange with the access log line at Info.
//
// Each reports req/s; the gateway runs also report x-proxy, their
// throughput over the proxy's in the same run (target >= 0.9 for
// exchange). Run all three together:
//
//	go test -run '^$' -bench BenchmarkGateway -benchtime 3s ./examples/internal/gateway/
func BenchmarkGateway(b *testing.B) {
	downstream, a, token := benchSetup(b)

	var proxyRPS float64
	b.Run("proxy", func(b *testing.B) {
		proxyRPS = drive(b, plainProxy(downstream.URL), token) // the last call is the measurement
	})
	for _, v := range []struct{ validate, accessLog bool }{{false, false}, {true, false}, {false, true}} {
		name := "exchange"
		if v.validate {
			name += "+validate"
		}
		if v.accessLog {
			name += "+accesslog"
		}
		b.Run(name, func(b *testing.B) {
			g := benchGateway(b, a, downstream.URL, v.validate)
			var h http.Handler = g.Authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				g.Proxy(w, r, "orders")
			}))
			if v.accessLog {
				// The line at Info, as Run writes it, to a text
				// handler that discards it.
				g.log = slog.New(slog.NewTextHandler(io.Discard, nil))
				h = g.AccessLog(h)
			}
			rps := drive(b, h, token)
			if st := g.Stats(); st.Exchanges != 1 {
				b.Errorf("%d exchanges, want 1 (warm cache)", st.Exchanges)
			}
			if proxyRPS > 0 {
				b.ReportMetric(rps/proxyRPS, "x-proxy")
			}
		})
	}
}

// benchSetup starts the downstream service and the authority the gateway
// benchmarks share, and returns them with a user token for the gateway.
func benchSetup(b *testing.B) (*httptest.Server, *testutil.Authority, string) {
	b.Helper()
	downstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":42,"status":"shipped"}`))
	}))
	b.Cleanup(downstream.Close)
	a := testutil.NewAuthority(b, testutil.Options{TokenLifetime: time.Hour})
	a.AddClient(testutil.Client{ID: "gateway", Secret: "s", ExchangeAudiences: []string{"orders"}})
	return downstream, a, a.UserToken("alice", "cli", "gateway")
}

// plainProxy is the baseline: the same reverse proxy to rawURL over the
// same base transport, with no token handling.
func plainProxy(rawURL string) *httputil.ReverseProxy {
	target, _ := url.Parse(rawURL)
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
		},
		Transport: NewBaseTransport(),
	}
}

// benchGateway assembles a gateway with one exchange route to url.
func benchGateway(b *testing.B, a *testutil.Authority, url string, validate bool) *Gateway {
	b.Helper()
	cfg := Config{TokenURL: a.TokenURL(), ClientID: "gateway", ClientSecret: "s", Routes: []Route{mustRoute("/api/orders=" + url)}}
	if validate {
		cfg.Issuer, cfg.JWKSURL, cfg.Audiences = a.Issuer(), a.JWKSURL(), []string{"gateway"}
	}
	g, err := New(context.Background(), cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(g.Close)
	return g
}

// benchParallelism is the number of clients per GOMAXPROCS, enough to
// keep every processor busy rather than measure the latency of one hop.
const benchParallelism = 16

// drive serves h on loopback, warms it up, then sends b.N requests from
// parallel clients and reports and returns the requests per second.
func drive(b *testing.B, h http.Handler, token string) float64 {
	srv := httptest.NewServer(h)
	defer srv.Close()
	client := &http.Client{Transport: NewBaseTransport()}
	defer client.CloseIdleConnections()
	get := func() error {
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/api/orders/42", nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return &statusError{resp.StatusCode}
		}
		return nil
	}
	if err := get(); err != nil { // warm the cache
		b.Fatal(err)
	}
	warmUp(b, get)
	b.ReportAllocs()
	b.SetParallelism(benchParallelism)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := get(); err != nil {
				b.Error(err)
				return
			}
		}
	})
	rps := float64(b.N) / time.Since(start).Seconds()
	b.ReportMetric(rps, "req/s")
	return rps
}

type statusError struct{ code int }

func (e *statusError) Error() string { return "status " + http.StatusText(e.code) }

// warmUp sends a few hundred requests from as many clients as the
// measurement uses, so that connection pools and the heap are at their
// working size before the timer starts.
func warmUp(b *testing.B, get func() error) {
	var wg sync.WaitGroup
	for range benchParallelism * runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				if err := get(); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
