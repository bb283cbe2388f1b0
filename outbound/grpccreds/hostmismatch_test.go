package grpccreds_test

import (
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/middleware/grpcauth"
	"github.com/go-tokenexchange/tokenexchange/outbound"
	"github.com/go-tokenexchange/tokenexchange/outbound/grpccreds"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// TestHostMismatch: credentials made for one route's host send their token
// only on a connection whose authority (as gRPC passes it in the audience
// URI) is that host and port; on any other the call fails with Internal
// before a token is got, and the server sees no call.
func TestHostMismatch(t *testing.T) {
	a := testutil.NewAuthority(t, testutil.Options{})
	a.AddClient(testutil.Client{ID: "gateway", Secret: gatewaySecret, ExchangeAudiences: []string{"orders"}})
	x := newExchanger(t, newClient(t, a, "gateway", gatewaySecret))
	srvA := startServer(t, grpcauth.Options{}, nil)
	srvB := startServer(t, grpcauth.Options{}, nil)

	tests := []struct {
		name      string
		route     string // the credentials' route URL
		srv       *grpcServer
		authority string // grpc.WithAuthority, when set
		ok        bool
	}{
		{name: "same host", route: srvA.routeURL(), srv: srvA, ok: true},
		{name: "another server", route: srvA.routeURL(), srv: srvB},
		{name: "WithAuthority another host", route: srvA.routeURL(), srv: srvA, authority: "billing.internal:" + port(t, srvA)},
		{name: "WithAuthority another port", route: srvA.routeURL(), srv: srvA, authority: "127.0.0.1:1"},
		{name: "route by name, authority :443", route: "https://orders.internal", srv: srvA, authority: "orders.internal:443", ok: true},
		{name: "route by name, authority without port", route: "https://Orders.Internal:443", srv: srvA, authority: "orders.internal", ok: true},
		{name: "route by name, authority on another port", route: "https://orders.internal", srv: srvA, authority: "orders.internal:8443"},
		{name: "http route port 80, authority without port (443)", route: "http://orders.internal", srv: srvA, authority: "orders.internal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := outbound.New(outbound.Options{Exchanger: x, Routes: []outbound.Route{{URL: tt.route, Mode: outbound.ModeExchange,
				Target: exchange.Target{Audiences: []string{"orders"}}}}})
			require.NoError(t, err)
			d, err := tr.Destination(tt.route)
			require.NoError(t, err)
			creds, err := grpccreds.New(d, grpccreds.Options{AllowInsecure: true})
			require.NoError(t, err)
			opts := append(creds.DialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))
			if tt.authority != "" {
				opts = append(opts, grpc.WithAuthority(tt.authority))
			}
			conn, err := grpc.NewClient(tt.srv.addr, opts...)
			require.NoError(t, err)
			t.Cleanup(func() { _ = conn.Close() })
			client := healthpb.NewHealthClient(conn)
			user := a.UserToken("alice", "web", "gateway")
			before := a.ExchangesFor("alice")

			_, err = client.Check(userContext(user), &healthpb.HealthCheckRequest{})
			if tt.ok {
				require.NoError(t, err)
				assert.NotEmpty(t, (<-tt.srv.calls).token)
				return
			}
			st := status.Convert(err)
			assert.Equal(t, codes.Internal, st.Code())
			assert.Equal(t, grpccreds.MsgHostMismatch, st.Message())
			assert.Empty(t, srvA.calls, "no call sent")
			assert.Empty(t, srvB.calls, "no call sent")
			assert.Equal(t, before, a.ExchangesFor("alice"), "no token got")

			w, err := client.Watch(userContext(user), &healthpb.HealthCheckRequest{})
			if err == nil {
				_, err = w.Recv()
			}
			assert.Equal(t, codes.Internal, status.Code(err), "streams too")
		})
	}
}

// TestDirectCallWithoutURI: GetRequestMetadata called without the
// audience URI (not by gRPC) cannot tell the host: it fails closed.
func TestDirectCallWithoutURI(t *testing.T) {
	a := testutil.NewAuthority(t, testutil.Options{})
	a.AddClient(testutil.Client{ID: "gateway", Secret: gatewaySecret, ExchangeAudiences: []string{"orders"}})
	srv := startServer(t, grpcauth.Options{}, nil)
	tr := exchangeTransport(t, newExchanger(t, newClient(t, a, "gateway", gatewaySecret)), srv, "orders", outbound.Options{})
	_, creds := srv.dial(t, tr)
	ctx := userContext(a.UserToken("alice", "web", "gateway"))

	tests := []struct {
		name string
		uri  []string
		ok   bool
	}{
		{"no uri", nil, false},
		{"empty uri", []string{""}, false},
		{"another host", []string{"https://billing.internal/grpc.health.v1.Health"}, false},
		{"the route's host", []string{"https://" + srv.addr + "/grpc.health.v1.Health"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md, err := creds.GetRequestMetadata(ctx, tt.uri...)
			if tt.ok {
				require.NoError(t, err)
				assert.Contains(t, md["authorization"], "Bearer ")
				return
			}
			assert.Nil(t, md)
			assert.Equal(t, codes.Internal, status.Code(err))
			assert.Equal(t, grpccreds.MsgHostMismatch, status.Convert(err).Message())
		})
	}
	assert.Equal(t, 1, a.ExchangesFor("alice"), "only the matching call got a token")
}

// port returns s's port.
func port(t *testing.T, s *grpcServer) string {
	t.Helper()
	_, p, err := net.SplitHostPort(s.addr)
	require.NoError(t, err)
	return p
}
