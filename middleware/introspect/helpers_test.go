package introspect

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/internal/oteltest"
	"github.com/go-tokenexchange/tokenexchange/internal/semconv"
	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

const gatewaySecret = "gateway-SECRET-value"

// env is an authority, a clock, and a validator with the test's
// telemetry and log, behind middleware.Bearer.
type env struct {
	a       *testutil.Authority
	clock   *testutil.Clock
	client  *authority.Client
	v       *Validator
	metrics *oteltest.Metrics
	traces  *oteltest.Traces
	logs    *syncBuffer
	handler http.Handler
}

// newEnv builds an env; adjust changes the Config before New.
func newEnv(t *testing.T, adjust func(*Config)) *env {
	t.Helper()
	clock := testutil.NewClock(time.Unix(1_800_000_000, 0))
	a := testutil.NewAuthority(t, testutil.Options{Now: clock.Now})
	a.AddClient(testutil.Client{ID: "gateway", Secret: gatewaySecret, ExchangeAudiences: []string{"orders"}})
	e := &env{a: a, clock: clock, metrics: oteltest.NewMetrics(t), traces: oteltest.NewTraces(t), logs: &syncBuffer{}}
	e.client = newClient(t, a, authority.Config{Issuer: a.Issuer(), ClientID: "gateway", ClientSecret: gatewaySecret})
	cfg := Config{
		Client:         e.client,
		Audience:       []string{"gateway"},
		Now:            clock.Now,
		MeterProvider:  e.metrics.Provider,
		TracerProvider: e.traces.Provider,
		Logger:         slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if adjust != nil {
		adjust(&cfg)
	}
	v, err := New(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(v.Close)
	e.v = v
	e.handler = middleware.Bearer(middleware.Options{Validator: v})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := middleware.ClaimsFromContext(r.Context())
		_, _ = io.WriteString(w, c.Subject)
	}))
	return e
}

func newClient(t *testing.T, a *testutil.Authority, cfg authority.Config) *authority.Client {
	t.Helper()
	cfg.HTTPClient = a.Client()
	c, err := authority.New(cfg)
	require.NoError(t, err)
	return c
}

// token issues an opaque token for sub with audience gateway.
func (e *env) token(sub string) string {
	return e.a.IssueOpaqueToken(testutil.TokenClaims{Subject: sub, ClientID: "web", Scope: "read", Audience: []string{"gateway"}})
}

// serve sends one request with token through the middleware.
func (e *env) serve(token string) *httptest.ResponseRecorder {
	return serveWith(e.handler, context.Background(), token)
}

func serveWith(h http.Handler, ctx context.Context, token string) *httptest.ResponseRecorder {
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// syncBuffer is a bytes.Buffer safe for concurrent use, for a log.
type syncBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// lookup is the attribute of a lookups data point.
func lookup(v string) attribute.KeyValue { return semconv.Lookup.String(v) }

// testKey returns a fresh P-256 key for private_key_jwt.
func testKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	return k
}
