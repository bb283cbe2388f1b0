package grpccreds_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/internal/oteltest"
	"github.com/go-tokenexchange/tokenexchange/middleware/grpcauth"
	"github.com/go-tokenexchange/tokenexchange/outbound"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// TestNoTokenLeaks runs a call through every path (accepted, refused and
// retried, refused in the window, an exchange refused by the authority
// with the subject token echoed in its description, the authority down)
// with debug logs, metrics and spans on, and checks that no token and no
// secret appears in a status message, an error, a log line, a metric or
// a span.
func TestNoTokenLeaks(t *testing.T) {
	a := testutil.NewAuthority(t, testutil.Options{})
	a.AddClient(testutil.Client{ID: "gateway", Secret: gatewaySecret, ExchangeAudiences: []string{"orders"}})
	v := &refusing{}
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	metrics, traces := oteltest.NewMetrics(t), oteltest.NewTraces(t)
	var (
		mu         sync.Mutex // guards refusalLog
		refusalLog []string
	)
	srv := startServer(t, grpcauth.Options{Validator: v, MeterProvider: metrics.Provider, OnRefusal: func(_ context.Context, _ string, err error) {
		mu.Lock()
		defer mu.Unlock()
		refusalLog = append(refusalLog, err.Error())
	}}, nil)
	x, err := exchange.New(newClient(t, a, "gateway", gatewaySecret), exchange.Options{NegativeTTL: -1,
		MeterProvider: metrics.Provider, TracerProvider: traces.Provider, Logger: logger})
	require.NoError(t, err)
	t.Cleanup(x.Close)
	tr := exchangeTransport(t, x, srv, "orders", outbound.Options{Logger: logger, MeterProvider: metrics.Provider})
	client, _ := srv.dial(t, tr)

	user := a.UserToken("leak-user", "web", "gateway")
	ctx := userContext(user)
	var (
		messages []string
		tokens   = []string{user, gatewaySecret}
	)
	call := func() {
		_, err := client.Check(ctx, &healthpb.HealthCheckRequest{})
		if err != nil {
			messages = append(messages, err.Error(), status.Convert(err).Message())
		}
	}
	call() // accepted
	first := (<-srv.calls).token
	tokens = append(tokens, first)
	v.refuse(first)
	call() // refused, retried with a fresh token
	tokens = append(tokens, (<-srv.calls).token)
	v.refuseAll()
	call() // refused, retried, refused: window
	call() // passed on in the window

	other := a.UserToken("leak-user-2", "web", "gateway")
	tokens = append(tokens, other)
	a.InjectFaults(1, testutil.Fault{Kind: testutil.FaultRaw, Status: 400, Header: map[string][]string{"Content-Type": {"application/json"}},
		Body: `{"error":"invalid_request","error_description":"bad subject_token ` + other + `"}`})
	_, err = client.Check(userContext(other), &healthpb.HealthCheckRequest{})
	messages = append(messages, err.Error())
	a.InjectFaults(1, testutil.Fault{Kind: testutil.FaultStatus, Status: 503})
	third := a.UserToken("leak-user-3", "web", "gateway")
	tokens = append(tokens, third)
	_, err = client.Check(userContext(third), &healthpb.HealthCheckRequest{})
	messages = append(messages, err.Error())

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, messages, 6, "every refused path was taken")
	require.NotEmpty(t, refusalLog)
	require.Contains(t, logs.String(), "fresh token", "the retry paths logged")
	haystack := append(append(append(messages, refusalLog...), logs.String()), append(metrics.Strings(t), traces.Strings()...)...)
	for _, tok := range tokens {
		for _, s := range haystack {
			if strings.Contains(s, tok) {
				t.Errorf("token or secret %.12s... leaked into %q", tok, s)
			}
		}
	}
}
