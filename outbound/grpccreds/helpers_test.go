package grpccreds_test

import (
	"context"
	"net"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/middleware/grpcauth"
	"github.com/go-tokenexchange/tokenexchange/outbound"
	"github.com/go-tokenexchange/tokenexchange/outbound/grpccreds"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

const gatewaySecret = "gateway-secret-do-not-leak"

// received is what the server's handler found in a call's context.
type received struct {
	token   string
	subject string
}

// grpcServer is a loopback gRPC server with the health service behind
// grpcauth.
type grpcServer struct {
	addr  string
	calls chan received
}

// startServer serves the health service (or svc, when not nil) behind a
// grpcauth interceptor with opts, and records every call that reached
// the handler.
func startServer(t testing.TB, opts grpcauth.Options, svc healthpb.HealthServer) *grpcServer {
	t.Helper()
	return startServerWith(t, opts, svc, nil)
}

// startServerWith is startServer with the server options sopts (such as
// grpc.Creds) and more unary interceptors after the recording one.
func startServerWith(t testing.TB, opts grpcauth.Options, svc healthpb.HealthServer, sopts []grpc.ServerOption, more ...grpc.UnaryServerInterceptor) *grpcServer {
	t.Helper()
	s := &grpcServer{calls: make(chan received, 256)}
	auth := grpcauth.New(opts)
	record := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		var r received
		r.token, _ = middleware.TokenFromContext(ctx)
		if c, ok := middleware.ClaimsFromContext(ctx); ok {
			r.subject = c.Subject
		}
		if s.calls != nil {
			s.calls <- r
		}
		return h(ctx, req)
	}
	sopts = append(sopts, grpc.ChainUnaryInterceptor(append([]grpc.UnaryServerInterceptor{auth.Unary, record}, more...)...), grpc.StreamInterceptor(auth.Stream))
	srv := grpc.NewServer(sopts...)
	var hs *health.Server
	if svc == nil {
		hs = health.NewServer()
		svc = hs
	}
	healthpb.RegisterHealthServer(srv, svc)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s.addr = lis.Addr().String()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(lis)
	}()
	t.Cleanup(func() {
		if hs != nil {
			hs.Shutdown()
		}
		srv.Stop()
		<-done
	})
	return s
}

// routeURL is the route URL naming the server.
func (s *grpcServer) routeURL() string { return "http://" + s.addr }

// dial connects to s with the credentials of the route of tr naming s.
func (s *grpcServer) dial(t testing.TB, tr *outbound.Transport) (healthpb.HealthClient, *grpccreds.Credentials) {
	t.Helper()
	d, err := tr.Destination(s.routeURL())
	require.NoError(t, err)
	creds, err := grpccreds.New(d, grpccreds.Options{AllowInsecure: true})
	require.NoError(t, err)
	opts := append(creds.DialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	conn, err := grpc.NewClient(s.addr, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return healthpb.NewHealthClient(conn), creds
}

func newClient(t testing.TB, a *testutil.Authority, id, secret string) *authority.Client {
	t.Helper()
	c, err := authority.New(authority.Config{TokenURL: a.TokenURL(), ClientID: id, ClientSecret: secret, HTTPClient: a.Client()})
	require.NoError(t, err)
	return c
}

func newExchanger(t testing.TB, c *authority.Client) *exchange.Exchanger {
	t.Helper()
	x, err := exchange.New(c, exchange.Options{NegativeTTL: -1})
	require.NoError(t, err)
	t.Cleanup(x.Close)
	return x
}

// exchangeTransport returns a transport with one exchange route, for
// audience, to s.
func exchangeTransport(t testing.TB, x outbound.Exchanger, s *grpcServer, audience string, opts outbound.Options) *outbound.Transport {
	t.Helper()
	opts.Routes = append(opts.Routes, outbound.Route{URL: s.routeURL(), Mode: outbound.ModeExchange, Exchanger: x,
		Target: exchange.Target{Audiences: []string{audience}}})
	tr, err := outbound.New(opts)
	require.NoError(t, err)
	return tr
}

// refusing is a validator that accepts tokens (opaque: the sub is
// "opaque") until refuse is called for them.
type refusing struct {
	mu      sync.Mutex
	refused map[string]bool
	all     bool
}

func (v *refusing) Validate(_ context.Context, tok authority.SubjectToken) (*middleware.Claims, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.all || v.refused[tok.Value()] {
		return nil, &middleware.Error{Code: middleware.CodeInvalidToken, Description: "revoked", Status: 401, Err: middleware.ErrExpired}
	}
	return middleware.ParseClaims([]byte(`{"sub":"opaque"}`))
}

func (v *refusing) refuse(tok string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.refused == nil {
		v.refused = map[string]bool{}
	}
	v.refused[tok] = true
}

func (v *refusing) refuseAll() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.all = true
}

// userContext is an inbound context carrying token, as behind grpcauth or
// the HTTP middleware.
func userContext(token string) context.Context {
	return middleware.NewContext(context.Background(), token)
}

// exchangeFreeSource is c's own token by the client credentials grant.
func exchangeFreeSource(c *authority.Client) *authority.CachedSource {
	return authority.NewCachedSource(c, authority.ClientCredentialsRequest{}, authority.CachedSourceOptions{})
}
