package grpcauth_test

import (
	"context"
	"net"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/middleware/grpcauth"
)

// seen is what a handler behind the interceptor found in its context.
type seen struct {
	method  string
	token   string
	subject string // the validated claims' sub, "" without claims
	inbound bool
}

// startHealth serves grpc's health service on a loopback listener behind
// auth, and returns a client of it and the channel on which every call
// that reached the handler reports what its context carried.
func startHealth(t testing.TB, auth *grpcauth.Interceptor) (healthpb.HealthClient, <-chan seen) {
	t.Helper()
	calls := make(chan seen, 64)
	record := func(ctx context.Context, method string) {
		s := seen{method: method, inbound: middleware.IsInbound(ctx)}
		s.token, _ = middleware.TokenFromContext(ctx)
		if c, ok := middleware.ClaimsFromContext(ctx); ok {
			s.subject = c.Subject
		}
		calls <- s
	}
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(auth.Unary, func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			record(ctx, info.FullMethod)
			return h(ctx, req)
		}),
		grpc.ChainStreamInterceptor(auth.Stream, func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			record(ss.Context(), info.FullMethod)
			return h(srv, ss)
		}),
	)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(lis)
	}()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = conn.Close()
		hs.Shutdown()
		srv.Stop()
		<-done
	})
	return healthpb.NewHealthClient(conn), calls
}

// validatorFunc adapts a function to middleware.Validator.
type validatorFunc func(context.Context, authority.SubjectToken) (*middleware.Claims, error)

func (f validatorFunc) Validate(ctx context.Context, tok authority.SubjectToken) (*middleware.Claims, error) {
	return f(ctx, tok)
}
