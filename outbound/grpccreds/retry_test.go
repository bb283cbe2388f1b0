package grpccreds_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/go-tokenexchange/tokenexchange/internal/oteltest"
	"github.com/go-tokenexchange/tokenexchange/internal/semconv"
	"github.com/go-tokenexchange/tokenexchange/middleware/grpcauth"
	"github.com/go-tokenexchange/tokenexchange/outbound"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// retryEnv is a server whose validator refuses what a test says, and a
// client exchanging alice's token for it.
type retryEnv struct {
	a       *testutil.Authority
	v       *refusing
	srv     *grpcServer
	tr      *outbound.Transport
	client  healthpb.HealthClient
	user    string
	metrics *oteltest.Metrics
}

func newRetryEnv(t *testing.T, opts outbound.Options) *retryEnv {
	t.Helper()
	return newRetryEnvServing(t, opts, nil)
}

// newRetryEnvServing is newRetryEnv whose server serves svc (nil: the
// health service).
func newRetryEnvServing(t *testing.T, opts outbound.Options, svc healthpb.HealthServer) *retryEnv {
	t.Helper()
	e := &retryEnv{a: testutil.NewAuthority(t, testutil.Options{}), v: &refusing{}, metrics: oteltest.NewMetrics(t)}
	e.a.AddClient(testutil.Client{ID: "gateway", Secret: gatewaySecret, ExchangeAudiences: []string{"orders"}})
	e.srv = startServer(t, grpcauth.Options{Validator: e.v}, svc)
	opts.MeterProvider = e.metrics.Provider
	e.tr = exchangeTransport(t, newExchanger(t, newClient(t, e.a, "gateway", gatewaySecret)), e.srv, "orders", opts)
	e.client, _ = e.srv.dial(t, e.tr)
	e.user = e.a.UserToken("alice", "web", "gateway")
	return e
}

func (e *retryEnv) check() error {
	_, err := e.client.Check(userContext(e.user), &healthpb.HealthCheckRequest{})
	return err
}

// allUnauthenticated makes n concurrent calls with call (e.check,
// e.watch) and asserts that each ends with codes.Unauthenticated.
func allUnauthenticated(t *testing.T, n int, call func() error) {
	t.Helper()
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.Equal(t, codes.Unauthenticated, status.Code(call()))
		}()
	}
	wg.Wait()
}

// TestRetryOnce: a token the server refuses is dropped and the call sent
// once more with a fresh one, which the server accepts.
func TestRetryOnce(t *testing.T) {
	e := newRetryEnv(t, outbound.Options{})
	require.NoError(t, e.check())
	first := (<-e.srv.calls).token
	e.v.refuse(first)

	require.NoError(t, e.check(), "the retry with a fresh token succeeds")
	second := (<-e.srv.calls).token
	assert.NotEqual(t, first, second)
	assert.Equal(t, 2, e.a.ExchangesFor("alice"), "one exchange more for the retry")
	assert.Equal(t, uint64(1), e.tr.Stats().Retries)
	assert.EqualValues(t, 1, e.metrics.Int64(t, "tokenexchange.outbound.retries", semconv.Outcome.String("resent"), semconv.Route.String(e.srv.routeURL())))

	require.NoError(t, e.check(), "the fresh token is the cached one now")
	assert.Equal(t, second, (<-e.srv.calls).token)
	assert.Equal(t, 2, e.a.ExchangesFor("alice"))
}

// TestStormGuard: once a fresh token is refused too, the server's refusals
// reach the caller without another exchange for the window, however many
// calls are made.
func TestStormGuard(t *testing.T) {
	e := newRetryEnv(t, outbound.Options{RefusalWindow: time.Hour})
	e.v.refuseAll()

	err := e.check()
	assert.Equal(t, codes.Unauthenticated, status.Code(err))
	assert.Equal(t, "grpcauth: invalid bearer token", status.Convert(err).Message(), "the server's refusal, passed on")
	assert.Equal(t, 2, e.a.ExchangesFor("alice"), "the first token and one fresh token")
	st := e.tr.Stats()
	assert.Equal(t, uint64(1), st.Retries)
	assert.Equal(t, uint64(1), st.FreshRefused)

	const n = 16
	allUnauthenticated(t, n, e.check)
	assert.Equal(t, 2, e.a.ExchangesFor("alice"), "no exchange in the window")
	st = e.tr.Stats()
	assert.Equal(t, uint64(1), st.Retries)
	assert.Equal(t, uint64(n), st.PassedOn)
	assert.EqualValues(t, 1, e.metrics.Int64(t, "tokenexchange.outbound.refusal_windows", semconv.Route.String(e.srv.routeURL())))
	assert.Empty(t, e.srv.calls, "no call reached the handler")
}

// TestRetryWithoutFreshToken: when the fresh token cannot be had (the
// authority down), the call fails with Unavailable, not the server's
// refusal.
func TestRetryWithoutFreshToken(t *testing.T) {
	e := newRetryEnv(t, outbound.Options{})
	require.NoError(t, e.check())
	e.v.refuse((<-e.srv.calls).token)
	e.a.InjectFaults(1, testutil.Fault{Kind: testutil.FaultStatus, Status: 503})

	err := e.check()
	assert.Equal(t, codes.Unavailable, status.Code(err))
	assert.Equal(t, uint64(0), e.tr.Stats().Retries, "not sent again")
}

// TestStreamsAreNotRetried: a refused stream ends with the server's
// status, without another exchange now (see stream_test.go for the
// dropped token).
func TestStreamsAreNotRetried(t *testing.T) {
	e := newRetryEnv(t, outbound.Options{})
	require.NoError(t, e.check())
	e.v.refuse((<-e.srv.calls).token)

	w, err := e.client.Watch(userContext(e.user), &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	_, err = w.Recv()
	assert.Equal(t, codes.Unauthenticated, status.Code(err))
	assert.Equal(t, 1, e.a.ExchangesFor("alice"))
	assert.Equal(t, uint64(0), e.tr.Stats().Retries)
}

// TestCallerGone: a call whose context ends is not retried.
func TestCallerGone(t *testing.T) {
	e := newRetryEnv(t, outbound.Options{})
	require.NoError(t, e.check())
	e.v.refuse((<-e.srv.calls).token)
	ctx, cancel := context.WithCancel(userContext(e.user))
	cancel()
	_, err := e.client.Check(ctx, &healthpb.HealthCheckRequest{})
	assert.Equal(t, codes.Canceled, status.Code(err))
	assert.Equal(t, 1, e.a.ExchangesFor("alice"))
}

// TestRetryOwnToken: on an own-token route the refused token is dropped
// from the token source and the call sent again with a new one.
func TestRetryOwnToken(t *testing.T) {
	a := testutil.NewAuthority(t, testutil.Options{})
	a.AddClient(testutil.Client{ID: "gateway", Secret: gatewaySecret})
	v := &refusing{}
	srv := startServer(t, grpcauth.Options{Validator: v}, nil)
	tr, err := outbound.New(outbound.Options{Routes: []outbound.Route{{URL: srv.routeURL(), Mode: outbound.ModeOwnToken,
		Tokens: exchangeFreeSource(newClient(t, a, "gateway", gatewaySecret))}}})
	require.NoError(t, err)
	client, _ := srv.dial(t, tr)

	_, err = client.Check(context.Background(), &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	first := (<-srv.calls).token
	v.refuse(first)
	_, err = client.Check(context.Background(), &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	assert.NotEqual(t, first, (<-srv.calls).token)
	assert.Equal(t, 2, a.Issued("client_credentials"))
	assert.Equal(t, uint64(1), tr.Stats().Retries)
}
