package grpccreds_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/go-tokenexchange/tokenexchange/internal/semconv"
	"github.com/go-tokenexchange/tokenexchange/outbound"
)

// watch opens a health Watch stream (server streaming) as alice and
// returns the error of its first Recv; the stream is then closed.
func (e *retryEnv) watch() error {
	ctx, cancel := context.WithCancel(userContext(e.user))
	defer cancel()
	w, err := e.client.Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return err
	}
	_, err = w.Recv()
	return err
}

// TestStreamRefusalDropsToken: a stream the server refuses with
// Unauthenticated is not replayed, but its token is dropped: the next
// stream gets a fresh exchange, which the server accepts, and that token
// stays cached.
func TestStreamRefusalDropsToken(t *testing.T) {
	e := newRetryEnv(t, outbound.Options{})
	require.NoError(t, e.check())
	first := (<-e.srv.calls).token
	e.v.refuse(first)

	err := e.watch()
	assert.Equal(t, codes.Unauthenticated, status.Code(err))
	assert.Equal(t, "grpcauth: invalid bearer token", status.Convert(err).Message(), "the server's status, unchanged")
	assert.Equal(t, 1, e.a.ExchangesFor("alice"), "no exchange until the next call")

	require.NoError(t, e.watch(), "the next stream carries a fresh token")
	assert.Equal(t, 2, e.a.ExchangesFor("alice"))
	require.NoError(t, e.watch())
	require.NoError(t, e.check())
	assert.NotEqual(t, first, (<-e.srv.calls).token)
	assert.Equal(t, 2, e.a.ExchangesFor("alice"), "the fresh token is the cached one")
	st := e.tr.Stats()
	assert.Equal(t, uint64(0), st.Retries, "nothing sent again")
	assert.Equal(t, uint64(0), st.FreshRefused)
}

// TestStreamStormGuard: a server refusing every token costs, for streams,
// the first token and one fresh one: once the fresh token is refused too a
// refusal window opens and later refusals (of streams, or of unary calls)
// are passed on without another exchange, however many streams are
// opened, concurrently or not.
func TestStreamStormGuard(t *testing.T) {
	e := newRetryEnv(t, outbound.Options{RefusalWindow: time.Hour})
	e.v.refuseAll()

	assert.Equal(t, codes.Unauthenticated, status.Code(e.watch()))
	assert.Equal(t, 1, e.a.ExchangesFor("alice"))
	assert.Equal(t, codes.Unauthenticated, status.Code(e.watch()), "the fresh token is refused too")
	assert.Equal(t, 2, e.a.ExchangesFor("alice"))
	st := e.tr.Stats()
	assert.Equal(t, uint64(1), st.FreshRefused, "the window opened")
	assert.EqualValues(t, 1, e.metrics.Int64(t, "tokenexchange.outbound.refusal_windows", semconv.Route.String(e.srv.routeURL())))

	const n = 16
	allUnauthenticated(t, n, e.watch)
	assert.Equal(t, codes.Unauthenticated, status.Code(e.check()))
	assert.Equal(t, 2, e.a.ExchangesFor("alice"), "no exchange in the window")
	st = e.tr.Stats()
	assert.Equal(t, uint64(1), st.FreshRefused)
	assert.Equal(t, uint64(n+2), st.PassedOn, "the refusal that opened the window, the streams and the unary call")
	assert.Equal(t, uint64(0), st.Retries)
	assert.EqualValues(t, 1, e.metrics.Int64(t, "tokenexchange.outbound.refusal_windows", semconv.Route.String(e.srv.routeURL())))
	assert.Empty(t, e.srv.calls, "no call reached the handler")
}

// TestStreamRefusalsWithoutWindows: with the refusal windows off, every
// refused stream drops its token, and the next stream exchanges again.
func TestStreamRefusalsWithoutWindows(t *testing.T) {
	e := newRetryEnv(t, outbound.Options{RefusalWindow: -1})
	e.v.refuseAll()
	for i := 1; i <= 3; i++ {
		assert.Equal(t, codes.Unauthenticated, status.Code(e.watch()))
		assert.Equal(t, i, e.a.ExchangesFor("alice"))
	}
}

// TestStreamOtherErrorsKeepToken: a stream that ends with another code
// than Unauthenticated (here Unimplemented) keeps its token.
func TestStreamOtherErrorsKeepToken(t *testing.T) {
	e := newRetryEnvServing(t, outbound.Options{}, healthpb.UnimplementedHealthServer{})
	for range 3 {
		assert.Equal(t, codes.Unimplemented, status.Code(e.watch()))
	}
	assert.Equal(t, 1, e.a.ExchangesFor("alice"))
}
