package grpcauth_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"github.com/go-tokenexchange/tokenexchange/internal/oteltest"
	"github.com/go-tokenexchange/tokenexchange/internal/semconv"
	"github.com/go-tokenexchange/tokenexchange/middleware/grpcauth"
)

// TestTelemetry pins the counters by outcome and reason, the span event of
// a refusal, and that no token reaches a metric or a span.
func TestTelemetry(t *testing.T) {
	const token = "telemetry-token-5b0a"
	metrics := oteltest.NewMetrics(t)
	traces := oteltest.NewTraces(t)
	auth := grpcauth.New(grpcauth.Options{MeterProvider: metrics.Provider, Skip: func(_ context.Context, m string) bool {
		return m == "/skipped"
	}})
	client, calls := startHealth(t, auth)

	_, err := client.Check(withAuthorization("Bearer "+token), &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	<-calls
	_, err = client.Check(context.Background(), &healthpb.HealthCheckRequest{})
	require.Error(t, err)
	_, err = client.Check(withAuthorization("Bearer "+token+" x"), &healthpb.HealthCheckRequest{})
	require.Error(t, err)

	// A call with a span in its context, straight through the interceptor.
	ctx, span := traces.Provider.Tracer("test").Start(context.Background(), "call")
	ctx = metadata.NewIncomingContext(ctx, metadata.Pairs("authorization", "Basic "+token))
	_, err = auth.Unary(ctx, nil, &grpc.UnaryServerInfo{FullMethod: "/x.Y/Z"}, func(context.Context, any) (any, error) {
		t.Error("handler called for a refused call")
		return nil, nil
	})
	require.Error(t, err)
	span.End()
	_, err = auth.Unary(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: "/skipped"}, func(context.Context, any) (any, error) {
		return nil, nil
	})
	require.NoError(t, err)

	const requests, refusals = "tokenexchange.inbound.requests", "tokenexchange.inbound.refusals"
	assert.EqualValues(t, 1, metrics.Int64(t, requests, semconv.Outcome.String("accepted")))
	assert.EqualValues(t, 3, metrics.Int64(t, requests, semconv.Outcome.String("refused")))
	assert.EqualValues(t, 1, metrics.Int64(t, requests, semconv.Outcome.String("skipped")))
	assert.EqualValues(t, 1, metrics.Int64(t, refusals, semconv.Reason.String("missing_token")))
	assert.EqualValues(t, 1, metrics.Int64(t, refusals, semconv.Reason.String("malformed_header")))
	assert.EqualValues(t, 1, metrics.Int64(t, refusals, semconv.Reason.String("unsupported_scheme")))

	ended := traces.Ended("call")
	require.Len(t, ended, 1)
	events := ended[0].Events()
	require.Len(t, events, 1)
	assert.Equal(t, "tokenexchange.inbound.refused", events[0].Name)
	assert.Equal(t, []string{"tokenexchange.reason", "unsupported_scheme"}, []string{string(events[0].Attributes[0].Key), events[0].Attributes[0].Value.Emit()})

	for _, s := range append(metrics.Strings(t), traces.Strings()...) {
		assert.False(t, strings.Contains(s, token), "token in telemetry: %q", s)
	}
}
