package jwt_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/middleware/jwt"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// JWT validation against an authorization server's keys, with a required scope.
func ExampleNew() {
	auth := testutil.NewAuthority(nil, testutil.Options{})
	defer auth.Close()

	v, err := jwt.New(context.Background(), jwt.Config{
		Issuer:     auth.Issuer(), // keys found by discovery
		Audience:   []string{"orders"},
		HTTPClient: auth.Client(),
	})
	if err != nil {
		panic(err)
	}
	defer v.Close() // ends a key set fetch in progress
	protect := middleware.Bearer(middleware.Options{Validator: v, RequiredScopes: []string{"orders:read"}})
	srv := httptest.NewServer(protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := middleware.ClaimsFromContext(r.Context())
		fmt.Fprintf(w, "hello %s", claims.Subject)
	})))
	defer srv.Close()

	call := func(token string) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, strings.TrimSpace(string(body)))
	}
	call(auth.IssueToken(testutil.TokenClaims{Subject: "alice", Audience: []string{"orders"}, Scope: "orders:read"}))
	call(auth.IssueToken(testutil.TokenClaims{Subject: "alice", Audience: []string{"orders"}}))
	call(auth.IssueToken(testutil.TokenClaims{Subject: "alice", Audience: []string{"billing"}, Scope: "orders:read"}))
	// Output:
	// 200 hello alice
	// 403 {"error":"insufficient_scope","error_description":"token lacks a required scope","scope":"orders:read"}
	// 401 {"error":"invalid_token","error_description":"audience mismatch"}
}

// Accept only Keycloak access tokens: Keycloak names the kind of a token in
// its "typ" claim, "Bearer" for access tokens and "ID" for ID tokens.
func ExampleConfig_checkClaims() {
	auth := testutil.NewAuthority(nil, testutil.Options{})
	defer auth.Close()

	v, err := jwt.New(context.Background(), jwt.Config{
		Issuer:     auth.Issuer(),
		Audience:   []string{"orders"},
		HTTPClient: auth.Client(),
		CheckClaims: func(_ context.Context, c *middleware.Claims) error {
			var kc struct {
				Typ string `json:"typ"`
			}
			if err := c.Decode(&kc); err != nil || kc.Typ != "Bearer" {
				return errors.New("not an access token")
			}
			return nil
		},
	})
	if err != nil {
		panic(err)
	}
	defer v.Close()

	for _, typ := range []string{"Bearer", "ID"} {
		tok := auth.IssueToken(testutil.TokenClaims{Subject: "alice", Audience: []string{"orders"}, Extra: map[string]any{"typ": typ}})
		claims, err := v.Validate(context.Background(), authority.NewSubjectToken(tok))
		if err != nil {
			fmt.Println(typ, "refused:", err, errors.Is(err, middleware.ErrRejected))
			continue
		}
		fmt.Println(typ, "accepted for", claims.Subject)
	}
	// Output:
	// Bearer accepted for alice
	// ID refused: middleware: invalid_token: token rejected by policy true
}

// Telemetry: the key set fetches go to the MeterProvider and
// TracerProvider given (here the SDK's, read in memory; a real program
// installs exporters), the startup fetch as a child of New's span, with
// the W3C traceparent header on the key set request.
func ExampleConfig_telemetry() {
	auth := testutil.NewAuthority(nil, testutil.Options{})
	defer auth.Close()
	reader := sdkmetric.NewManualReader()
	meters := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer meters.Shutdown(context.Background())
	spans := tracetest.NewSpanRecorder()
	tracers := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	defer tracers.Shutdown(context.Background())

	ctx, startup := tracers.Tracer("app").Start(context.Background(), "startup")
	v, err := jwt.New(ctx, jwt.Config{
		Issuer:         auth.Issuer(),
		Audience:       []string{"orders"},
		HTTPClient:     auth.Client(),
		MeterProvider:  meters,
		TracerProvider: tracers,
		Propagator:     propagation.TraceContext{},
		Logger:         slog.Default(), // background failures, rate-limited
	})
	if err != nil {
		panic(err)
	}
	defer v.Close()
	startup.End()
	fmt.Println("ready:", v.Ready() == nil)

	for _, s := range spans.Ended() {
		if s.Name() == "startup" {
			continue
		}
		outcome := ""
		for _, kv := range s.Attributes() {
			if kv.Key == "tokenexchange.outcome" {
				outcome = kv.Value.Emit()
			}
		}
		fmt.Println(s.Name(), outcome, s.Parent().SpanID() == startup.SpanContext().SpanID())
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		panic(err)
	}
	for _, m := range rm.ScopeMetrics[0].Metrics {
		switch d := m.Data.(type) {
		case metricdata.Sum[int64]:
			fmt.Println(m.Name, d.DataPoints[0].Value)
		case metricdata.Gauge[int64]:
			fmt.Println(m.Name, d.DataPoints[0].Value)
		}
	}
	// Output:
	// ready: true
	// tokenexchange.jwks.discovery success true
	// tokenexchange.jwks.fetch success true
	// tokenexchange.jwks.fetches 1
	// tokenexchange.jwks.keys 1
	// tokenexchange.jwt.verified_cache.lookups 0
	// tokenexchange.jwt.verified_cache.entries 0
	// tokenexchange.jwt.verified_cache.evictions 0
}
