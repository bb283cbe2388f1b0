package middleware_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/middleware"
)

// Opaque tokens: the middleware only extracts the token and stores it.
func ExampleBearer() {
	mux := http.NewServeMux()
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := middleware.TokenFromContext(r.Context())
		fmt.Fprintf(w, "token of %d bytes", len(tok))
	})
	mux.Handle("GET /hello", middleware.Bearer(middleware.Options{})(hello))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/hello", nil)
	req.Header.Set("Authorization", "Bearer opaque-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body))

	resp, err = http.Get(srv.URL + "/hello")
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	// Output:
	// 200 token of 12 bytes
	// 401 Bearer realm="api"
}

// A Validator of the application's own: here a fixed table of tokens and
// their claims, read by ParseClaims. An RFC 7662 introspection client
// has the same shape; package middleware/jwt validates JWTs.
type tableValidator map[string]string

func (tv tableValidator) Validate(_ context.Context, token authority.SubjectToken) (*middleware.Claims, error) {
	switch payload, ok := tv[token.Value()]; {
	case token.Value() == "down":
		return nil, fmt.Errorf("introspection endpoint: %w", middleware.ErrUnavailable)
	case !ok:
		return nil, &middleware.Error{Code: middleware.CodeInvalidToken, Description: "unknown token", Err: middleware.ErrMalformedToken}
	default:
		return middleware.ParseClaims([]byte(payload))
	}
}

func ExampleValidator() {
	v := tableValidator{
		"t-alice": `{"sub": "alice", "scope": "orders:read"}`,
		"t-bob":   `{"sub": "bob", "scope": "profile"}`,
	}
	protect := middleware.Bearer(middleware.Options{Validator: v, RequiredScopes: []string{"orders:read"}})
	srv := httptest.NewServer(protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := middleware.ClaimsFromContext(r.Context())
		fmt.Fprintf(w, "hello %s", claims.Subject)
	})))
	defer srv.Close()

	for _, token := range []string{"t-alice", "t-bob", "t-eve", "down"} {
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
	// Output:
	// 200 hello alice
	// 403 {"error":"insufficient_scope","error_description":"token lacks a required scope","scope":"orders:read"}
	// 401 {"error":"invalid_token","error_description":"unknown token"}
	// 503 {"error":"temporarily_unavailable","error_description":"token could not be validated now"}
}

// A queue worker acts for the user who queued the job: it puts the user's token
// into the context it passes to outbound calls.
func ExampleNewContext() {
	job := struct{ SubjectToken string }{SubjectToken: "token-from-the-queue"}
	ctx := middleware.NewContext(context.Background(), job.SubjectToken)

	tok, ok := middleware.TokenFromContext(ctx)
	fmt.Println(ok, tok == job.SubjectToken)
	fmt.Println(ctx) // the token is never printed
	// Output:
	// true true
	// context.Background.WithBearerToken(<redacted>)
}

// Metrics: the middleware counts requests by outcome and refusals by
// reason on the MeterProvider it is given (here the SDK's, read by a
// manual reader; a real program installs an exporter, such as
// Prometheus's).
func ExampleOptions_meterProvider() {
	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer provider.Shutdown(context.Background())

	h := middleware.Bearer(middleware.Options{MeterProvider: provider})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	for _, auth := range []string{"Bearer t0ken", "", "Basic dXNlcjpwYXNz"} {
		req := httptest.NewRequest(http.MethodGet, "/orders", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		h.ServeHTTP(httptest.NewRecorder(), req)
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		panic(err)
	}
	var lines []string
	for _, m := range rm.ScopeMetrics[0].Metrics {
		for _, p := range m.Data.(metricdata.Sum[int64]).DataPoints {
			for _, kv := range p.Attributes.ToSlice() {
				lines = append(lines, fmt.Sprintf("%s %s=%s %d", m.Name, kv.Key, kv.Value.Emit(), p.Value))
			}
		}
	}
	slices.Sort(lines)
	fmt.Println(strings.Join(lines, "\n"))
	// Output:
	// tokenexchange.inbound.refusals tokenexchange.reason=missing_token 1
	// tokenexchange.inbound.refusals tokenexchange.reason=unsupported_scheme 1
	// tokenexchange.inbound.requests tokenexchange.outcome=accepted 1
	// tokenexchange.inbound.requests tokenexchange.outcome=refused 2
}
