package grpcauth_test

import (
	"context"
	"fmt"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/middleware/grpcauth"
	"github.com/go-tokenexchange/tokenexchange/middleware/jwt"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// A gRPC server that accepts only calls with a valid token of the
// authority for audience "orders", and whose handlers read the caller
// from the context.
func Example() {
	as := testutil.NewAuthority(nil, testutil.Options{})
	defer as.Close()
	v, err := jwt.New(context.Background(), jwt.Config{Issuer: as.Issuer(), JWKSURL: as.JWKSURL(), Audience: []string{"orders"}})
	if err != nil {
		panic(err)
	}
	defer v.Close()

	auth := grpcauth.New(grpcauth.Options{Validator: v})
	whoami := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		claims, _ := middleware.ClaimsFromContext(ctx)
		fmt.Println("handler: call from", claims.Subject)
		return h(ctx, req)
	}
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(auth.Unary, whoami), grpc.StreamInterceptor(auth.Stream))
	healthpb.RegisterHealthServer(srv, health.NewServer())
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()

	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	client := healthpb.NewHealthClient(conn)

	tok := as.IssueToken(testutil.TokenClaims{Subject: "alice", Audience: []string{"orders"}})
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok)
	_, err = client.Check(ctx, &healthpb.HealthCheckRequest{})
	fmt.Println("with a token:", status.Code(err))

	_, err = client.Check(context.Background(), &healthpb.HealthCheckRequest{})
	fmt.Println("without:", status.Code(err), status.Convert(err).Message())
	// Output:
	// handler: call from alice
	// with a token: OK
	// without: Unauthenticated grpcauth: bearer token required
}
