package outbound_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/outbound"
)

// hopBench is one outbound hop to an httptest backend that answers 200
// without looking at the token, through a plain transport or through an
// outbound.Transport in exchange mode with a warm cache.
type hopBench struct {
	url      string
	ctx      context.Context
	plain    http.RoundTripper
	exchange http.RoundTripper
	// header is the plain transport with the exchanged token set by the
	// caller: the cost of carrying the token, without handling it.
	header http.RoundTripper
}

// withHeader sets a fixed Authorization header on a copy of each request.
type withHeader struct {
	base  http.RoundTripper
	value string
}

func (w withHeader) RoundTrip(req *http.Request) (*http.Response, error) {
	out := req.Clone(req.Context())
	out.Header.Set("Authorization", w.value)
	return w.base.RoundTrip(out)
}

func newHopBench(b *testing.B) *hopBench {
	b.Helper()
	e := newEnv(b)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("ok"))
	}))
	b.Cleanup(backend.Close)
	base := &http.Transport{MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute}
	b.Cleanup(base.CloseIdleConnections)
	target := exchange.Target{Audiences: []string{"orders"}}
	tr := newTransport(b, outbound.Options{Base: base, Exchanger: e.x, Routes: []outbound.Route{
		{URL: backend.URL, Mode: outbound.ModeExchange, Target: target},
	}})
	subject := e.a.UserToken("alice", "web")
	h := &hopBench{
		url:      backend.URL + "/orders/42",
		ctx:      middleware.NewContext(context.Background(), subject),
		plain:    base,
		exchange: tr,
	}
	h.do(b, tr) // warm the cache
	tok, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), target)
	if err != nil {
		b.Fatal(err)
	}
	h.header = withHeader{base: base, value: "Bearer " + tok.AccessToken}
	return h
}

func (h *hopBench) do(b *testing.B, rt http.RoundTripper) {
	req, err := http.NewRequestWithContext(h.ctx, http.MethodGet, h.url, nil)
	if err != nil {
		b.Fatal(err)
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("status %d", resp.StatusCode)
	}
}

// BenchmarkHop measures one hop without token handling and with an
// exchanged token from a warm cache, serially and in parallel.
func BenchmarkHop(b *testing.B) {
	h := newHopBench(b)
	for _, c := range []struct {
		name string
		rt   http.RoundTripper
	}{{"plain", h.plain}, {"header", h.header}, {"exchange", h.exchange}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				h.do(b, c.rt)
			}
		})
		b.Run(c.name+"-parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					h.do(b, c.rt)
				}
			})
		})
	}
}

// BenchmarkHopRatio runs b.N hops of each kind, interleaved in small
// blocks so that noise hits all alike, and reports the exchange hop's
// (warm cache) throughput as a fraction of the plain hop's (no token;
// the target is at least 0.9) and of the header hop's (the same token
// set by the caller: what carrying a token costs without handling it).
func BenchmarkHopRatio(b *testing.B) {
	h := newHopBench(b)
	const block = 32
	var plain, header, exch time.Duration
	run := func(rt http.RoundTripper, n int) time.Duration {
		start := time.Now()
		for range n {
			h.do(b, rt)
		}
		return time.Since(start)
	}
	b.ResetTimer()
	for done, i := 0, 0; done < b.N; done, i = done+block, i+1 {
		n := min(block, b.N-done)
		if i%2 == 0 { // alternate the order so that no side always goes first
			plain += run(h.plain, n)
			header += run(h.header, n)
			exch += run(h.exchange, n)
		} else {
			exch += run(h.exchange, n)
			header += run(h.header, n)
			plain += run(h.plain, n)
		}
	}
	b.ReportMetric(float64(plain.Nanoseconds())/float64(b.N), "plain-ns/hop")
	b.ReportMetric(float64(exch.Nanoseconds())/float64(b.N), "exchange-ns/hop")
	b.ReportMetric(float64(header.Nanoseconds())/float64(b.N), "header-ns/hop")
	b.ReportMetric(float64(plain)/float64(exch), "exchange/plain")
	b.ReportMetric(float64(header)/float64(exch), "exchange/header")
}
