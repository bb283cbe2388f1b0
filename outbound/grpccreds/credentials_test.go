package grpccreds_test

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/middleware/grpcauth"
	"github.com/go-tokenexchange/tokenexchange/middleware/jwt"
	"github.com/go-tokenexchange/tokenexchange/outbound"
	"github.com/go-tokenexchange/tokenexchange/outbound/grpccreds"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

func newJWT(t testing.TB, a *testutil.Authority, audience string) *jwt.Validator {
	t.Helper()
	v, err := jwt.New(context.Background(), jwt.Config{Issuer: a.Issuer(), JWKSURL: a.JWKSURL(), Audience: []string{audience}, HTTPClient: a.Client()})
	require.NoError(t, err)
	t.Cleanup(v.Close)
	return v
}

// TestExchangeOnceForConcurrentCalls: many concurrent calls for one user
// cost one exchange (whether they meet in the exchanger's flight or its
// cache); the server sees the exchanged token (audience
// orders, sub the user), never the user's own.
func TestExchangeOnceForConcurrentCalls(t *testing.T) {
	a := testutil.NewAuthority(t, testutil.Options{})
	a.AddClient(testutil.Client{ID: "gateway", Secret: gatewaySecret, ExchangeAudiences: []string{"orders"}})
	srv := startServer(t, grpcauth.Options{Validator: newJWT(t, a, "orders")}, nil)
	tr := exchangeTransport(t, newExchanger(t, newClient(t, a, "gateway", gatewaySecret)), srv, "orders", outbound.Options{})
	client, _ := srv.dial(t, tr)

	user := a.UserToken("alice", "web", "gateway")
	const n = 32
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := client.Check(userContext(user), &healthpb.HealthCheckRequest{})
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	assert.Equal(t, 1, a.ExchangesFor("alice"))
	for range n {
		got := <-srv.calls
		assert.Equal(t, "alice", got.subject)
		assert.NotEqual(t, user, got.token)
	}
}

// TestRefusedBeforeSending pins that a call without a token to send is
// not sent: an anonymous caller (Unauthenticated), a context that is no
// inbound request's (Internal), and that the messages are fixed.
func TestRefusedBeforeSending(t *testing.T) {
	a := testutil.NewAuthority(t, testutil.Options{})
	a.AddClient(testutil.Client{ID: "gateway", Secret: gatewaySecret, ExchangeAudiences: []string{"orders"}})
	srv := startServer(t, grpcauth.Options{}, nil)
	tr := exchangeTransport(t, newExchanger(t, newClient(t, a, "gateway", gatewaySecret)), srv, "orders", outbound.Options{})
	client, _ := srv.dial(t, tr)

	anonymous, err := middleware.NewAuthenticator(middleware.Options{Optional: true}).Authenticate(context.Background(), nil)
	require.NoError(t, err)
	tests := []struct {
		name string
		ctx  context.Context
		code codes.Code
		msg  string
	}{
		{"anonymous caller", anonymous, codes.Unauthenticated, "grpccreds: the call has no caller token"},
		{"not an inbound context", context.Background(), codes.Internal, "grpccreds: the call's context does not come from an inbound request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.Check(tt.ctx, &healthpb.HealthCheckRequest{})
			assert.Equal(t, tt.code, status.Code(err))
			assert.Equal(t, tt.msg, status.Convert(err).Message())
		})
	}
	assert.Empty(t, srv.calls, "no call was sent")
	assert.Zero(t, a.Count("urn:ietf:params:oauth:grant-type:token-exchange"))
}

// TestAuthorityErrors pins the codes of exchanges the authority refused
// or could not answer, and that no message holds a token or the
// authority's text.
func TestAuthorityErrors(t *testing.T) {
	tests := []struct {
		name  string
		fault testutil.Fault
		code  codes.Code
		msg   string
		retry time.Duration
	}{
		{"subject refused", testutil.Fault{Kind: testutil.FaultOAuthError, Status: 400, Body: "invalid_request"}, codes.Unauthenticated, "grpccreds: the caller's token was not accepted for the destination", 0},
		{"invalid grant", testutil.Fault{Kind: testutil.FaultOAuthError, Status: 400, Body: "invalid_grant"}, codes.Unauthenticated, "grpccreds: the caller's token was not accepted for the destination", 0},
		{"access denied", testutil.Fault{Kind: testutil.FaultOAuthError, Status: 403, Body: "access_denied"}, codes.PermissionDenied, "grpccreds: the authorization server denied a token for the destination", 0},
		{"misconfigured", testutil.Fault{Kind: testutil.FaultOAuthError, Status: 400, Body: "invalid_target"}, codes.Internal, "grpccreds: no token for the destination (check the route's configuration)", 0},
		{"client refused", testutil.Fault{Kind: testutil.FaultOAuthError, Status: 401, Body: "invalid_client"}, codes.Internal, "grpccreds: no token for the destination (check the route's configuration)", 0},
		{"authority down", testutil.Fault{Kind: testutil.FaultStatus, Status: 503, Header: map[string][]string{"Retry-After": {"7"}}}, codes.Unavailable, "grpccreds: no token for the destination now: the authorization server is unavailable", 7 * time.Second},
		{"html", testutil.Fault{Kind: testutil.FaultHTML, Status: 502}, codes.Unavailable, "grpccreds: no token for the destination now: the authorization server is unavailable", 0},
		{"dropped", testutil.Fault{Kind: testutil.FaultDrop}, codes.Unavailable, "grpccreds: no token for the destination now: the authorization server is unavailable", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := testutil.NewAuthority(t, testutil.Options{})
			a.AddClient(testutil.Client{ID: "gateway", Secret: gatewaySecret, ExchangeAudiences: []string{"orders"}})
			srv := startServer(t, grpcauth.Options{}, nil)
			var logs bytes.Buffer
			tr := exchangeTransport(t, newExchanger(t, newClient(t, a, "gateway", gatewaySecret)), srv, "orders",
				outbound.Options{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
			client, _ := srv.dial(t, tr)
			a.InjectFaults(1, tt.fault)
			user := a.UserToken("alice-distinctive-user", "web", "gateway")
			_, err := client.Check(userContext(user), &healthpb.HealthCheckRequest{})
			st := status.Convert(err)
			assert.Equal(t, tt.code, st.Code(), st.Message())
			assert.Equal(t, tt.msg, st.Message())
			assert.Equal(t, tt.retry, retryDelay(st))
			assert.NotContains(t, err.Error(), user)
			assert.NotContains(t, logs.String(), user)
			assert.NotContains(t, logs.String(), gatewaySecret)
			assert.Empty(t, srv.calls, "no call was sent")
		})
	}
}

// TestTransportSecurity pins that the credentials refuse an insecure
// connection unless AllowInsecure.
func TestTransportSecurity(t *testing.T) {
	a := testutil.NewAuthority(t, testutil.Options{})
	a.AddClient(testutil.Client{ID: "gateway", Secret: gatewaySecret, ExchangeAudiences: []string{"orders"}})
	srv := startServer(t, grpcauth.Options{}, nil)
	tr := exchangeTransport(t, newExchanger(t, newClient(t, a, "gateway", gatewaySecret)), srv, "orders", outbound.Options{})
	d, err := tr.Destination(srv.routeURL())
	require.NoError(t, err)
	secure, err := grpccreds.New(d, grpccreds.Options{})
	require.NoError(t, err)
	assert.True(t, secure.RequireTransportSecurity())
	_, err = grpc.NewClient(srv.addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(secure))
	assert.Error(t, err, "secure credentials on an insecure connection")

	_, err = tr.Destination("http://elsewhere:1")
	assert.Error(t, err)
	_, err = grpccreds.New(nil, grpccreds.Options{})
	assert.Error(t, err)
	none, err := outbound.New(outbound.Options{Routes: []outbound.Route{{URL: "http://none:1", Mode: outbound.ModeNone}}})
	require.NoError(t, err)
	dn, err := none.Destination("http://none:1")
	require.NoError(t, err)
	_, err = grpccreds.New(dn, grpccreds.Options{})
	assert.Error(t, err, "a ModeNone route has no token")
}

// TestOwnTokenAndPassThrough pins the two other modes: the service's own
// token, and the caller's token unchanged.
func TestOwnTokenAndPassThrough(t *testing.T) {
	a := testutil.NewAuthority(t, testutil.Options{})
	a.AddClient(testutil.Client{ID: "gateway", Secret: gatewaySecret})
	own := startServer(t, grpcauth.Options{}, nil)
	pass := startServer(t, grpcauth.Options{}, nil)
	c := newClient(t, a, "gateway", gatewaySecret)
	tr, err := outbound.New(outbound.Options{Routes: []outbound.Route{
		{URL: own.routeURL(), Mode: outbound.ModeOwnToken, Tokens: exchangeFreeSource(c)},
		{URL: pass.routeURL(), Mode: outbound.ModePassThrough},
	}})
	require.NoError(t, err)
	ownClient, _ := own.dial(t, tr)
	passClient, _ := pass.dial(t, tr)

	_, err = ownClient.Check(context.Background(), &healthpb.HealthCheckRequest{})
	require.NoError(t, err, "an own-token route needs no caller")
	got := <-own.calls
	assert.NotEmpty(t, got.token)

	_, err = passClient.Check(userContext("caller-token-1"), &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	assert.Equal(t, "caller-token-1", (<-pass.calls).token)
}
