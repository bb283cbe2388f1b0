package grpcauth_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/middleware/grpcauth"
	"github.com/go-tokenexchange/tokenexchange/middleware/jwt"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// newJWT returns a validator of a's tokens for audience "orders".
func newJWT(t testing.TB, a *testutil.Authority, jwksURL string) *jwt.Validator {
	t.Helper()
	v, err := jwt.New(context.Background(), jwt.Config{
		Issuer: a.Issuer(), JWKSURL: jwksURL, Audience: []string{"orders"},
		HTTPClient: a.Client(), FetchTimeout: 2 * time.Second, Logger: slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	t.Cleanup(v.Close)
	return v
}

// withToken returns a context whose outgoing metadata has the values
// given as authorization.
func withAuthorization(values ...string) context.Context {
	ctx := context.Background()
	for _, v := range values {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", v)
	}
	return ctx
}

// refusalLog collects what OnRefusal saw.
type refusalLog struct {
	mu   sync.Mutex
	errs []error
}

func (l *refusalLog) record(_ context.Context, _ string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, err)
}

func (l *refusalLog) all() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]error(nil), l.errs...)
}

// TestUnaryCodes pins the status of every refusal of a unary call (code
// and fixed message, never the token), and that an accepted call reaches
// the handler with the token and claims in its context.
func TestUnaryCodes(t *testing.T) {
	a := testutil.NewAuthority(t, testutil.Options{})
	good := a.IssueToken(testutil.TokenClaims{Subject: "alice", Audience: []string{"orders"}, Scope: "orders:read"})
	noScope := a.IssueToken(testutil.TokenClaims{Subject: "alice", Audience: []string{"orders"}})
	expired := a.IssueToken(testutil.TokenClaims{Subject: "alice", Audience: []string{"orders"}, Scope: "orders:read",
		IssuedAt: time.Now().Add(-time.Hour), Expiry: time.Now().Add(-10 * time.Minute)})
	foreign := a.IssueToken(testutil.TokenClaims{Subject: "alice", Audience: []string{"billing"}, Scope: "orders:read"})
	forged := good[:strings.LastIndexByte(good, '.')+1] + "c2lnbmF0dXJl"

	valid := newJWT(t, a, a.JWKSURL())
	log := &refusalLog{}
	client, calls := startHealth(t, grpcauth.New(grpcauth.Options{
		Validator: valid, RequiredScopes: []string{"orders:read"}, MaxTokenSize: 4 << 10, OnRefusal: log.record,
	}))

	tests := []struct {
		name   string
		values []string
		code   codes.Code
		msg    string
	}{
		{"accepted", []string{"Bearer " + good}, codes.OK, ""},
		{"scheme in any case", []string{"bearer " + good}, codes.OK, ""},
		{"missing", nil, codes.Unauthenticated, "grpcauth: bearer token required"},
		{"basic", []string{"Basic YWxpY2U6c2VjcmV0"}, codes.Unauthenticated, "grpcauth: authorization scheme must be Bearer"},
		{"empty", []string{""}, codes.Unauthenticated, "grpcauth: malformed authorization metadata"},
		{"no token", []string{"Bearer "}, codes.Unauthenticated, "grpcauth: malformed authorization metadata"},
		{"bad characters", []string{"Bearer " + good + ",x"}, codes.Unauthenticated, "grpcauth: malformed authorization metadata"},
		{"two values", []string{"Bearer " + good, "Bearer " + good}, codes.Unauthenticated, "grpcauth: more than one authorization value"},
		{"too large", []string{"Bearer " + strings.Repeat("a", 4<<10+1)}, codes.Unauthenticated, "grpcauth: bearer token too large"},
		{"not a JWT", []string{"Bearer opaque-token-x"}, codes.Unauthenticated, "grpcauth: invalid bearer token"},
		{"forged", []string{"Bearer " + forged}, codes.Unauthenticated, "grpcauth: invalid bearer token"},
		{"expired", []string{"Bearer " + expired}, codes.Unauthenticated, "grpcauth: invalid bearer token"},
		{"audience", []string{"Bearer " + foreign}, codes.Unauthenticated, "grpcauth: invalid bearer token"},
		{"scope", []string{"Bearer " + noScope}, codes.PermissionDenied, "grpcauth: token lacks a required scope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.Check(withAuthorization(tt.values...), &healthpb.HealthCheckRequest{})
			st := status.Convert(err)
			assert.Equal(t, tt.code, st.Code(), st.Message())
			if tt.code != codes.OK {
				assert.Equal(t, tt.msg, st.Message())
				for _, tok := range []string{good, noScope, expired, foreign, forged} {
					assert.NotContains(t, st.Message(), tok)
				}
				return
			}
			got := <-calls
			assert.Equal(t, good, got.token)
			assert.Equal(t, "alice", got.subject)
			assert.Equal(t, "/grpc.health.v1.Health/Check", got.method)
		})
	}
	refusals := log.all()
	assert.Len(t, refusals, len(tests)-2)
	for _, err := range refusals {
		var e *middleware.Error
		assert.ErrorAs(t, err, &e, "OnRefusal gets the middleware's *Error")
		for _, tok := range []string{good, noScope, expired, foreign, forged} {
			assert.NotContains(t, err.Error(), tok)
		}
	}
	select {
	case s := <-calls:
		t.Errorf("a refused call reached the handler: %+v", s)
	default:
	}
}

// TestUnavailable pins that a token that cannot be validated now (the key
// set unreachable, a validator's ErrUnavailable) ends the call with
// Unavailable, with RetryInfo when the delay is known, never the
// validator's text.
func TestUnavailable(t *testing.T) {
	a := testutil.NewAuthority(t, testutil.Options{})
	// The key set answers once (for jwt.New), then 503: a token signed
	// with a new key cannot be validated now.
	var served atomic.Bool
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if served.Swap(true) {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		resp, err := a.Client().Get(a.JWKSURL())
		if err != nil {
			t.Errorf("jwks: %v", err)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.Copy(w, resp.Body)
	}))
	t.Cleanup(jwks.Close)
	keysDown := newJWT(t, a, jwks.URL)
	a.RotateKey()
	tok := a.IssueToken(testutil.TokenClaims{Subject: "alice", Audience: []string{"orders"}})

	retryLater := validatorFunc(func(context.Context, authority.SubjectToken) (*middleware.Claims, error) {
		return nil, &middleware.Error{Code: middleware.CodeTemporarilyUnavailable, Description: "introspection down: secret-detail",
			Status: 503, RetryAfter: 1500 * time.Millisecond, Err: middleware.ErrUnavailable}
	})
	tests := []struct {
		name      string
		validator middleware.Validator
		retry     time.Duration
	}{
		{"keys unreachable", keysDown, time.Minute},
		{"validator unavailable with retry", retryLater, 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, _ := startHealth(t, grpcauth.New(grpcauth.Options{Validator: tt.validator}))
			_, err := client.Check(withAuthorization("Bearer "+tok), &healthpb.HealthCheckRequest{})
			st := status.Convert(err)
			assert.Equal(t, codes.Unavailable, st.Code())
			assert.Equal(t, "grpcauth: token could not be validated now", st.Message())
			var delay time.Duration
			for _, d := range st.Details() {
				if ri, ok := d.(*errdetails.RetryInfo); ok {
					delay = ri.GetRetryDelay().AsDuration()
				}
			}
			assert.Equal(t, tt.retry, delay)
		})
	}
}

// TestStream pins that the stream interceptor refuses as the unary one
// does and gives the handler a stream whose context carries the token.
func TestStream(t *testing.T) {
	const token = "stream-token-7d1e"
	client, calls := startHealth(t, grpcauth.New(grpcauth.Options{}))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w, err := client.Watch(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token), &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	resp, err := w.Recv()
	require.NoError(t, err)
	assert.Equal(t, healthpb.HealthCheckResponse_SERVING, resp.GetStatus())
	got := <-calls
	assert.Equal(t, token, got.token)
	assert.Equal(t, "/grpc.health.v1.Health/Watch", got.method)
	cancel()

	w, err = client.Watch(context.Background(), &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	_, err = w.Recv()
	assert.Equal(t, codes.Unauthenticated, status.Code(err))
	assert.Equal(t, "grpcauth: bearer token required", status.Convert(err).Message())
}

// TestOptionalAndSkip pins Optional (no metadata: anonymous, inbound) and
// Skip (exempted: no token, not inbound).
func TestOptionalAndSkip(t *testing.T) {
	t.Run("optional", func(t *testing.T) {
		client, calls := startHealth(t, grpcauth.New(grpcauth.Options{Optional: true}))
		_, err := client.Check(context.Background(), &healthpb.HealthCheckRequest{})
		require.NoError(t, err)
		got := <-calls
		assert.True(t, got.inbound)
		assert.Empty(t, got.token)
		_, err = client.Check(withAuthorization("Bearer"), &healthpb.HealthCheckRequest{})
		assert.Equal(t, codes.Unauthenticated, status.Code(err), "present but malformed is still refused")
	})
	t.Run("skip", func(t *testing.T) {
		client, calls := startHealth(t, grpcauth.New(grpcauth.Options{Skip: func(_ context.Context, m string) bool {
			return m == "/grpc.health.v1.Health/Check"
		}}))
		_, err := client.Check(context.Background(), &healthpb.HealthCheckRequest{})
		require.NoError(t, err)
		got := <-calls
		assert.False(t, got.inbound)
		w, err := client.Watch(context.Background(), &healthpb.HealthCheckRequest{})
		require.NoError(t, err)
		_, err = w.Recv()
		assert.Equal(t, codes.Unauthenticated, status.Code(err), "only the skipped method is exempt")
	})
}

// TestPanicsOnMisuse pins that New panics as middleware.Bearer does.
func TestPanicsOnMisuse(t *testing.T) {
	assert.Panics(t, func() { grpcauth.New(grpcauth.Options{RequiredScopes: []string{"a"}}) })
	assert.Panics(t, func() { grpcauth.New(grpcauth.Options{MaxTokenSize: -1}) })
}
