package grpccreds_test

import (
	"context"
	"fmt"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/middleware/grpcauth"
	"github.com/go-tokenexchange/tokenexchange/middleware/jwt"
	"github.com/go-tokenexchange/tokenexchange/outbound"
	"github.com/go-tokenexchange/tokenexchange/outbound/grpccreds"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// A gateway calls the gRPC service "orders" for its callers: each call
// carries the caller's token exchanged for one issued to orders, one
// exchange per caller however many calls.
func Example() {
	as := testutil.NewAuthority(nil, testutil.Options{})
	defer as.Close()
	as.AddClient(testutil.Client{ID: "gateway", Secret: "gateway-secret", ExchangeAudiences: []string{"orders"}})

	// The orders service: tokens for audience "orders" only.
	v, err := jwt.New(context.Background(), jwt.Config{Issuer: as.Issuer(), JWKSURL: as.JWKSURL(), Audience: []string{"orders"}})
	if err != nil {
		panic(err)
	}
	defer v.Close()
	auth := grpcauth.New(grpcauth.Options{Validator: v})
	who := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		c, _ := middleware.ClaimsFromContext(ctx)
		fmt.Println("orders: call for", c.Subject)
		return h(ctx, req)
	}
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(auth.Unary, who))
	healthpb.RegisterHealthServer(srv, health.NewServer())
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()

	// The gateway: an exchanger, a transport naming the service, the credentials.
	client, err := authority.New(authority.Config{TokenURL: as.TokenURL(), ClientID: "gateway", ClientSecret: "gateway-secret"})
	if err != nil {
		panic(err)
	}
	x, err := exchange.New(client, exchange.Options{})
	if err != nil {
		panic(err)
	}
	defer x.Close()
	ordersURL := "http://" + lis.Addr().String()
	tr, err := outbound.New(outbound.Options{Exchanger: x, Routes: []outbound.Route{{
		Name: "orders-grpc", URL: ordersURL, Mode: outbound.ModeExchange,
		Target: exchange.Target{Audiences: []string{"orders"}},
	}}})
	if err != nil {
		panic(err)
	}
	dest, err := tr.Destination(ordersURL)
	if err != nil {
		panic(err)
	}
	creds, err := grpccreds.New(dest, grpccreds.Options{AllowInsecure: true}) // loopback: no TLS
	if err != nil {
		panic(err)
	}
	conn, err := grpc.NewClient(lis.Addr().String(), append(creds.DialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	orders := healthpb.NewHealthClient(conn)

	// In a handler behind the middleware, ctx is the request's context.
	ctx := middleware.NewContext(context.Background(), as.UserToken("alice", "web", "gateway"))
	for range 3 {
		if _, err := orders.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
			fmt.Println(err)
		}
	}
	fmt.Println("exchanges:", as.ExchangesFor("alice"))
	// Output:
	// orders: call for alice
	// orders: call for alice
	// orders: call for alice
	// exchanges: 1
}

// Status maps an outbound error to the status a gRPC handler returns.
func ExampleStatus() {
	st := grpccreds.Status(&outbound.TokenError{Mode: outbound.ModeExchange, Err: outbound.ErrNoSubjectToken})
	fmt.Println(st.Code(), st.Message())
	st = grpccreds.Status(&outbound.TokenError{Mode: outbound.ModeExchange, Err: exchange.ErrBusy})
	fmt.Println(st.Code(), st.Message())
	// Output:
	// Unauthenticated grpccreds: the call has no caller token
	// Unavailable grpccreds: no token for the destination now: the authorization server is unavailable
}
