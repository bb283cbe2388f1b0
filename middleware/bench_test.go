package middleware_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-tokenexchange/tokenexchange/internal/oteltest"
	"github.com/go-tokenexchange/tokenexchange/middleware"
)

// BenchmarkParseAndStore measures the middleware with validation off: header
// parse, query check, context store and the handler's TokenFromContext.
// Its metrics go to the global MeterProvider, a no-op.
func BenchmarkParseAndStore(b *testing.B) {
	benchParseAndStore(b, middleware.Options{})
}

// BenchmarkParseAndStoreSDKMetrics is BenchmarkParseAndStore with the
// OpenTelemetry SDK's MeterProvider recording the requests counter.
func BenchmarkParseAndStoreSDKMetrics(b *testing.B) {
	benchParseAndStore(b, middleware.Options{MeterProvider: oteltest.NewMetrics(b).Provider})
}

func benchParseAndStore(b *testing.B, opts middleware.Options) {
	var got string
	h := middleware.Bearer(opts)(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		got, _ = middleware.TokenFromContext(r.Context())
	}))
	req := httptest.NewRequest(http.MethodGet, "/resource?page=2", nil)
	req.Header.Set("Authorization", "Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl")
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
	if got == "" {
		b.Fatal("no token")
	}
}

// BenchmarkTokenFromContext is the read on every outbound call.
func BenchmarkTokenFromContext(b *testing.B) {
	ctx := middleware.NewContext(context.Background(), "token")
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := middleware.TokenFromContext(ctx); !ok {
			b.Fatal("no token")
		}
	}
}
