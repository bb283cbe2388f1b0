package grpccreds_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/middleware/grpcauth"
	"github.com/go-tokenexchange/tokenexchange/outbound"
	"github.com/go-tokenexchange/tokenexchange/outbound/grpccreds"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// staticCreds is the baseline: a fixed token, as a static
// oauth.TokenSource attaches it (a new map per call), without transport
// security so that it runs on loopback.
type staticCreds struct{ value string }

func (s staticCreds) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": s.value}, nil
}

func (staticCreds) RequireTransportSecurity() bool { return false }

var _ credentials.PerRPCCredentials = staticCreds{}

// benchEnv is a warm exchange route to a loopback server.
type benchEnv struct {
	srv   *grpcServer
	creds *grpccreds.Credentials
	user  string
	token string // the exchanged token, for the static baseline
	uri   string // the audience gRPC passes the credentials
}

func newBenchEnv(b *testing.B) *benchEnv {
	a := testutil.NewAuthority(b, testutil.Options{})
	a.AddClient(testutil.Client{ID: "gateway", Secret: gatewaySecret, ExchangeAudiences: []string{"orders"}})
	srv := startServer(b, grpcauth.Options{}, nil)
	srv.calls = nil // the benchmark's calls are not recorded
	tr := exchangeTransport(b, newExchanger(b, newClient(b, a, "gateway", gatewaySecret)), srv, "orders", outbound.Options{})
	d, err := tr.Destination(srv.routeURL())
	require.NoError(b, err)
	creds, err := grpccreds.New(d, grpccreds.Options{AllowInsecure: true})
	require.NoError(b, err)
	e := &benchEnv{srv: srv, creds: creds, user: a.UserToken("alice", "web", "gateway"), uri: "https://" + srv.addr + "/grpc.health.v1.Health"}
	tok, err := d.Token(middleware.NewContext(context.Background(), e.user)) // warm the cache
	require.NoError(b, err)
	e.token = tok.AccessToken
	return e
}

// getMetadata calls c as gRPC does (with the audience uri), through the interface from another
// function, so that the compiler cannot keep the map on the stack.
//
//go:noinline
func getMetadata(ctx context.Context, c credentials.PerRPCCredentials, uri string) error {
	md, err := c.GetRequestMetadata(ctx, uri)
	if len(md) != 1 {
		panic("one field expected")
	}
	return err
}

// BenchmarkGetRequestMetadata measures the per-call cost of the
// credentials with a warm cache (the exchange is a cache hit) against a
// static token: same-context is the cost per call within one inbound
// request (its token hashed once), new-context per inbound request (the
// hash included).
func BenchmarkGetRequestMetadata(b *testing.B) {
	e := newBenchEnv(b)
	ctx := middleware.NewContext(context.Background(), e.user)
	b.Run("static", func(b *testing.B) {
		s := &staticCreds{value: "Bearer " + e.token}
		b.ReportAllocs()
		for b.Loop() {
			if err := getMetadata(ctx, s, e.uri); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("exchange-same-context", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := getMetadata(ctx, e.creds, e.uri); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("exchange-new-context", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := getMetadata(middleware.NewContext(context.Background(), e.user), e.creds, e.uri); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkUnaryRPC measures a unary call on loopback (grpcauth on the
// server, opaque tokens) with the credentials and their interceptor,
// warm, against the static token.
func BenchmarkUnaryRPC(b *testing.B) {
	e := newBenchEnv(b)
	dial := func(opts ...grpc.DialOption) healthpb.HealthClient {
		conn, err := grpc.NewClient(e.srv.addr, append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))...)
		require.NoError(b, err)
		b.Cleanup(func() { _ = conn.Close() })
		return healthpb.NewHealthClient(conn)
	}
	ctx := middleware.NewContext(context.Background(), e.user)
	run := func(b *testing.B, c healthpb.HealthClient) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("static", func(b *testing.B) { run(b, dial(grpc.WithPerRPCCredentials(&staticCreds{value: "Bearer " + e.token}))) })
	b.Run("exchange", func(b *testing.B) { run(b, dial(e.creds.DialOptions()...)) })
}
