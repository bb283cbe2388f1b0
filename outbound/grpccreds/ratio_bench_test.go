package grpccreds_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/go-tokenexchange/tokenexchange/middleware"
)

// interleave runs b.N operations of each of static and exchange in small
// blocks, alternating which goes first, so that the noise of a shared
// machine hits both alike, and reports each one's ns/op and their ratio
// (exchange/static: what the credentials cost per call over a fixed
// token).
func interleave(b *testing.B, block int, static, exchange func(n int)) {
	var st, ex time.Duration
	timed := func(f func(int), n int) time.Duration {
		start := time.Now()
		f(n)
		return time.Since(start)
	}
	b.ResetTimer()
	for done, i := 0, 0; done < b.N; done, i = done+block, i+1 {
		n := min(block, b.N-done)
		if i%2 == 0 {
			st += timed(static, n)
			ex += timed(exchange, n)
		} else {
			ex += timed(exchange, n)
			st += timed(static, n)
		}
	}
	b.ReportMetric(float64(st.Nanoseconds())/float64(b.N), "static-ns/op")
	b.ReportMetric(float64(ex.Nanoseconds())/float64(b.N), "exchange-ns/op")
	b.ReportMetric(float64(ex)/float64(st), "exchange/static")
}

// BenchmarkMetadataRatio: GetRequestMetadata with a warm cache against a
// static token, interleaved; no network.
func BenchmarkMetadataRatio(b *testing.B) {
	e := newBenchEnv(b)
	ctx := middleware.NewContext(context.Background(), e.user)
	s := &staticCreds{value: "Bearer " + e.token}
	call := func(c credentials.PerRPCCredentials) func(int) {
		return func(n int) {
			for range n {
				if err := getMetadata(ctx, c, e.uri); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	interleave(b, 256, call(s), call(e.creds))
}

// BenchmarkUnaryRPCRatio: a unary call on loopback with the credentials
// and their interceptor (warm) against a static token, interleaved.
func BenchmarkUnaryRPCRatio(b *testing.B) {
	e := newBenchEnv(b)
	dial := func(opts ...grpc.DialOption) healthpb.HealthClient {
		conn, err := grpc.NewClient(e.srv.addr, append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))...)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = conn.Close() })
		return healthpb.NewHealthClient(conn)
	}
	ctx := middleware.NewContext(context.Background(), e.user)
	call := func(c healthpb.HealthClient) func(int) {
		return func(n int) {
			for range n {
				if _, err := c.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	interleave(b, 16, call(dial(grpc.WithPerRPCCredentials(&staticCreds{value: "Bearer " + e.token}))), call(dial(e.creds.DialOptions()...)))
}
