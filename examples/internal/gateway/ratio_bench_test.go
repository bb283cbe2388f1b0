package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"
	"time"
)

// BenchmarkGatewayRatio measures the gateway's throughput with exchange on
// (warm cache) against the same reverse proxy with no token handling, in
// interleaved rounds, so that noise from the machine falls on both alike.
// Each op is one round of gatewayRound requests through each; x-proxy is
// the proxy's total time over the gateway's (throughput ratio, target
// >= 0.9).
//
//	go test -run '^$' -bench BenchmarkGatewayRatio -benchtime 100x -count 5 ./examples/internal/gateway/
func BenchmarkGatewayRatio(b *testing.B) {
	downstream, a, token := benchSetup(b)
	proxy := httptest.NewServer(plainProxy(downstream.URL))
	defer proxy.Close()
	g := benchGateway(b, a, downstream.URL, false)
	gateway := httptest.NewServer(g.Authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.Proxy(w, r, "orders")
	})))
	defer gateway.Close()

	client := &http.Client{Transport: NewBaseTransport()}
	defer client.CloseIdleConnections()
	get := func(base string) error {
		req, err := http.NewRequest(http.MethodGet, base+"/api/orders/42", nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return &statusError{resp.StatusCode}
		}
		return nil
	}
	round := func(base string) time.Duration {
		workers := benchParallelism * runtime.GOMAXPROCS(0)
		per := gatewayRound / workers
		var wg sync.WaitGroup
		start := time.Now()
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range per {
					if err := get(base); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		return time.Since(start)
	}
	round(proxy.URL) // warm both up: connection pools, the exchange cache
	round(gateway.URL)

	var proxyTime, gatewayTime time.Duration
	b.ResetTimer()
	for range b.N {
		proxyTime += round(proxy.URL)
		gatewayTime += round(gateway.URL)
	}
	b.StopTimer()
	if st := g.Stats(); st.Exchanges != 1 {
		b.Errorf("%d exchanges, want 1 (warm cache)", st.Exchanges)
	}
	b.ReportMetric(float64(b.N*gatewayRound)/proxyTime.Seconds(), "proxy-req/s")
	b.ReportMetric(float64(b.N*gatewayRound)/gatewayTime.Seconds(), "gateway-req/s")
	b.ReportMetric(proxyTime.Seconds()/gatewayTime.Seconds(), "x-proxy")
}

// gatewayRound is the number of requests per round and per side.
const gatewayRound = 512
