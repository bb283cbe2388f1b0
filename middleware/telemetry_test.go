package middleware_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/internal/oteltest"
	"github.com/go-tokenexchange/tokenexchange/middleware"
)

const (
	refusalsMetric = "tokenexchange.inbound.refusals"
	requestsMetric = "tokenexchange.inbound.requests"
	refusedEvent   = "tokenexchange.inbound.refused"
	reasonKey      = attribute.Key("tokenexchange.reason")
	outcomeKey     = attribute.Key("tokenexchange.outcome")
)

// telemetryValidator answers by the token's value; every token names a
// secret, so that the leak test can look for it.
func telemetryValidator(_ context.Context, tok authority.SubjectToken) (*middleware.Claims, error) {
	refuse := func(cause error) error {
		return &middleware.Error{Code: middleware.CodeInvalidToken, Description: "refused", Err: cause}
	}
	switch tok.Value() {
	case "good-secret-1":
		return middleware.ParseClaims([]byte(`{"sub":"alice-secret-sub","scope":"read"}`))
	case "noscope-secret-2":
		return middleware.ParseClaims([]byte(`{"sub":"alice-secret-sub"}`))
	case "expired-secret-3":
		return nil, refuse(middleware.ErrExpired)
	case "down-secret-4":
		return nil, errors.New("keys of alice-secret-sub: " + middleware.ErrUnavailable.Error() + ": " + tok.Value())
	case "policy-secret-5":
		return nil, refuse(errors.Join(middleware.ErrRejected, errors.New("policy-secret-5 is banned")))
	case "plain-secret-6":
		return nil, errors.New("validator failed on plain-secret-6")
	case "nil-secret-7":
		return nil, nil
	case "custom-secret-8":
		return nil, refuse(errors.New("custom-secret-8 has no kid"))
	case "wrapped-down-secret-9":
		return nil, errors.Join(middleware.ErrUnavailable, errors.New("wrapped-down-secret-9"))
	}
	return nil, refuse(middleware.ErrInvalidSignature)
}

func TestBearerTelemetry(t *testing.T) {
	cases := []struct {
		name    string
		headers []string
		query   string
		reason  string // "" when accepted
	}{
		{name: "accepted", headers: []string{"Bearer good-secret-1"}},
		{name: "missing", reason: "missing_token"},
		{name: "basic", headers: []string{"Basic c2VjcmV0OnNlY3JldA=="}, reason: "unsupported_scheme"},
		{name: "malformed", headers: []string{"Bearer bad$secret"}, reason: "malformed_header"},
		{name: "empty", headers: []string{""}, reason: "malformed_header"},
		{name: "two headers", headers: []string{"Bearer good-secret-1", "Bearer two-secret"}, reason: "multiple_headers"},
		{name: "too large", headers: []string{"Bearer " + strings.Repeat("s", 65)}, reason: "token_too_large"},
		{name: "query", query: "access_token=query-secret", reason: "token_in_query"},
		{name: "expired", headers: []string{"Bearer expired-secret-3"}, reason: "invalid_token"},
		{name: "bad signature", headers: []string{"Bearer sig-secret"}, reason: "invalid_token"},
		{name: "custom refusal", headers: []string{"Bearer custom-secret-8"}, reason: "invalid_token"},
		{name: "scope", headers: []string{"Bearer noscope-secret-2"}, reason: "insufficient_scope"},
		{name: "unavailable", headers: []string{"Bearer wrapped-down-secret-9"}, reason: "unavailable"},
		{name: "policy", headers: []string{"Bearer policy-secret-5"}, reason: "rejected"},
		{name: "plain error", headers: []string{"Bearer plain-secret-6"}, reason: "other"},
		{name: "no claims", headers: []string{"Bearer nil-secret-7"}, reason: "other"},
		{name: "text naming unavailable is no sentinel", headers: []string{"Bearer down-secret-4"}, reason: "other"},
	}
	metrics := oteltest.NewMetrics(t)
	traces := oteltest.NewTraces(t)
	tracer := traces.Provider.Tracer("test")
	h := middleware.Bearer(middleware.Options{
		MaxTokenSize:   64,
		Validator:      validatorFunc(telemetryValidator),
		RequiredScopes: []string{"read"},
		MeterProvider:  metrics.Provider,
	})(http.HandlerFunc(echoToken))

	wantReasons := map[string]int64{}
	var secrets []string
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			target := "/resource"
			if tc.query != "" {
				target += "?" + tc.query
			}
			ctx, span := tracer.Start(context.Background(), tc.name)
			req := httptest.NewRequestWithContext(ctx, http.MethodGet, target, nil)
			for _, v := range tc.headers {
				req.Header.Add("Authorization", v)
				if v != "" {
					secrets = append(secrets, strings.TrimPrefix(v, "Bearer "))
				}
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			span.End()

			ended := traces.Ended(tc.name)
			require.Len(t, ended, 1)
			events := ended[0].Events()
			if tc.reason == "" {
				assert.Equal(t, http.StatusOK, rec.Code)
				assert.Empty(t, events, "no event on the success path")
				return
			}
			assert.NotEqual(t, http.StatusOK, rec.Code)
			wantReasons[tc.reason]++
			require.Len(t, events, 1)
			assert.Equal(t, refusedEvent, events[0].Name)
			assert.Equal(t, []attribute.KeyValue{reasonKey.String(tc.reason)}, events[0].Attributes)
		})
	}

	var refused int64
	for _, r := range []string{"missing_token", "unsupported_scheme", "malformed_header", "multiple_headers",
		"token_too_large", "token_in_query", "invalid_token", "insufficient_scope", "unavailable", "rejected", "other"} {
		assert.Equal(t, wantReasons[r], metrics.Int64(t, refusalsMetric, reasonKey.String(r)), r)
		refused += wantReasons[r]
	}
	assert.Equal(t, refused, metrics.Int64(t, refusalsMetric), "no refusal outside the closed set")
	assert.EqualValues(t, len(cases)-1, refused)
	assert.EqualValues(t, 1, metrics.Int64(t, requestsMetric, outcomeKey.String("accepted")))
	assert.Equal(t, refused, metrics.Int64(t, requestsMetric, outcomeKey.String("refused")))
	assert.Zero(t, metrics.Int64(t, requestsMetric, outcomeKey.String("anonymous")))

	// Tokens never leak: not a token, a subject or a validator's error text.
	secrets = append(secrets, "query-secret", "alice-secret-sub", "c2VjcmV0")
	all := strings.Join(append(metrics.Strings(t), traces.Strings()...), "\n")
	for _, s := range secrets {
		assert.NotContains(t, all, s)
	}
	assert.NotContains(t, all, "secret")
}

func TestBearerTelemetryAnonymous(t *testing.T) {
	metrics := oteltest.NewMetrics(t)
	h := middleware.Bearer(middleware.Options{Optional: true, MeterProvider: metrics.Provider})(http.HandlerFunc(echoToken))
	for _, auth := range []string{"", "", "Bearer tok", "Basic dXNlcjpwYXNz"} {
		req := httptest.NewRequest(http.MethodGet, "/resource", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	assert.EqualValues(t, 2, metrics.Int64(t, requestsMetric, outcomeKey.String("anonymous")))
	assert.EqualValues(t, 1, metrics.Int64(t, requestsMetric, outcomeKey.String("accepted")))
	assert.EqualValues(t, 1, metrics.Int64(t, requestsMetric, outcomeKey.String("refused")))
	assert.EqualValues(t, 1, metrics.Int64(t, refusalsMetric, reasonKey.String("unsupported_scheme")))
}

// Without a span in the request's context, a refusal records nothing on
// any span and does not fail.
func TestBearerRefusalWithoutSpan(t *testing.T) {
	h := middleware.Bearer(middleware.Options{})(http.HandlerFunc(echoToken))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/resource", nil))
	assert.Equal(t, http.StatusUnauthorized, rec.Code)
}
