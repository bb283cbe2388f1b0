package introspect

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// TestValidate answers tokens the authority describes in every way, through
// middleware.Bearer.
func TestValidate(t *testing.T) {
	e := newEnv(t, nil)
	now := e.clock.Now()
	issue := func(c testutil.TokenClaims) string {
		if c.Subject == "" {
			c.Subject = "alice"
		}
		return e.a.IssueOpaqueToken(c)
	}
	gw := []string{"gateway"}
	revoked := issue(testutil.TokenClaims{Audience: gw})
	e.a.Revoke(revoked)
	// The authority's clock is the validator's: to have it call a token
	// active that the validator finds expired or not yet valid, the claims
	// are set by hand.
	tests := []struct {
		name   string
		token  string
		status int
		err    error
		sub    string
	}{
		{name: "active opaque", token: issue(testutil.TokenClaims{Audience: gw}), status: 200, sub: "alice"},
		{name: "active jwt", token: e.a.IssueToken(testutil.TokenClaims{Subject: "bob", Audience: gw}), status: 200, sub: "bob"},
		{name: "one of the audiences", token: issue(testutil.TokenClaims{Audience: []string{"other", "gateway"}}), status: 200, sub: "alice"},
		{name: "unknown", token: "opaque.unknown", status: 401, err: ErrInactive},
		{name: "revoked", token: revoked, status: 401, err: ErrInactive},
		{name: "expired at the authority", token: issue(testutil.TokenClaims{Audience: gw, IssuedAt: now.Add(-time.Hour), Expiry: now.Add(-time.Minute)}), status: 401, err: ErrInactive},
		{name: "wrong audience", token: issue(testutil.TokenClaims{Audience: []string{"orders"}}), status: 401, err: middleware.ErrInvalidAudience},
		{name: "no audience", token: issue(testutil.TokenClaims{}), status: 401, err: middleware.ErrMissingClaim},
		{name: "wrong issuer", token: issue(testutil.TokenClaims{Audience: gw, Extra: map[string]any{"iss": "https://evil.example"}}), status: 401, err: middleware.ErrInvalidIssuer},
		{name: "no issuer", token: issue(testutil.TokenClaims{Audience: gw, Extra: map[string]any{"iss": ""}}), status: 401, err: middleware.ErrMissingClaim},
		{name: "issued in the future", token: issue(testutil.TokenClaims{Audience: gw, IssuedAt: now.Add(time.Hour), Expiry: now.Add(2 * time.Hour)}), status: 401, err: middleware.ErrNotYetValid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := e.serve(tt.token)
			require.Equal(t, tt.status, rec.Code, "%s", rec.Body)
			if tt.status == 200 {
				assert.Equal(t, tt.sub, rec.Body.String())
				claims, err := e.v.Validate(context.Background(), authority.NewSubjectToken(tt.token))
				require.NoError(t, err)
				assert.Equal(t, e.a.Issuer(), claims.Issuer)
				return
			}
			assert.Contains(t, rec.Header().Get("WWW-Authenticate"), `error="invalid_token"`)
			_, err := e.v.Validate(context.Background(), authority.NewSubjectToken(tt.token))
			require.ErrorIs(t, err, tt.err)
		})
	}
}

// TestValidateExpiredByTheValidatorsClock: an answer the authority calls
// active but whose exp the validator's clock has passed is refused.
func TestValidateExpiredByTheValidatorsClock(t *testing.T) {
	ahead := testutil.NewClock(time.Unix(1_800_000_000, 0).Add(time.Hour))
	e := newEnv(t, func(c *Config) { c.Now = ahead.Now })
	tok := e.token("alice") // exp: the authority's now + 5 min
	_, err := e.v.Validate(context.Background(), authority.NewSubjectToken(tok))
	require.ErrorIs(t, err, middleware.ErrExpired)
}

// TestRevocationWithinCacheWindow: a revoked token keeps passing from the
// cache until MaxAge, then is refused.
func TestRevocationWithinCacheWindow(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxAge = 10 * time.Second })
	tok := e.token("alice")
	require.Equal(t, 200, e.serve(tok).Code)
	e.a.Revoke(tok)
	e.clock.Advance(9 * time.Second)
	require.Equal(t, 200, e.serve(tok).Code, "answered from the cache")
	require.Equal(t, 1, e.a.Introspections())
	e.clock.Advance(time.Second)
	rec := e.serve(tok)
	require.Equal(t, 401, rec.Code)
	require.Equal(t, 2, e.a.Introspections())
	// The refusal is cached for InactiveMaxAge.
	require.Equal(t, 401, e.serve(tok).Code)
	require.Equal(t, 2, e.a.Introspections())
	e.clock.Advance(DefaultInactiveMaxAge)
	require.Equal(t, 401, e.serve(tok).Code)
	require.Equal(t, 3, e.a.Introspections())
}

// TestCacheUntilExp: an active answer is not reused past the token's exp,
// even within MaxAge.
func TestCacheUntilExp(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxAge = time.Hour; c.Leeway = -1 })
	tok := e.a.IssueOpaqueToken(testutil.TokenClaims{Subject: "alice", Audience: []string{"gateway"}, Expiry: e.clock.Now().Add(time.Minute)})
	require.Equal(t, 200, e.serve(tok).Code)
	e.clock.Advance(59 * time.Second)
	require.Equal(t, 200, e.serve(tok).Code)
	require.Equal(t, 1, e.a.Introspections())
	e.clock.Advance(time.Second)
	require.Equal(t, 401, e.serve(tok).Code)
	require.Equal(t, 2, e.a.Introspections())
}

// TestUnavailable: every failure of the endpoint is a 503 (with the
// endpoint's Retry-After when it sent one), never a pass, and never cached.
func TestUnavailable(t *testing.T) {
	json := http.Header{"Content-Type": {"application/json"}}
	tests := []struct {
		name   string
		fault  testutil.Fault
		secret string
		retry  string
	}{
		{name: "503 with Retry-After", fault: testutil.Fault{Status: 503, Header: http.Header{"Retry-After": {"42"}}}, retry: "42"},
		{name: "500", fault: testutil.Fault{Kind: testutil.FaultOAuthError}},
		{name: "html", fault: testutil.Fault{Kind: testutil.FaultHTML, Status: 200}},
		{name: "malformed json", fault: testutil.Fault{Kind: testutil.FaultMalformedJSON}},
		{name: "active as a string", fault: testutil.Fault{Kind: testutil.FaultRaw, Status: 200, Header: json, Body: `{"active":"true","iss":"x"}`}},
		{name: "dropped", fault: testutil.Fault{Kind: testutil.FaultDrop}},
		{name: "timeout", fault: testutil.Fault{Kind: testutil.FaultDelay, Delay: time.Hour}},
		{name: "credentials refused", secret: "wrong"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(c *Config) { c.Timeout = 100 * time.Millisecond })
			if tt.secret != "" {
				e.v.client = newClient(t, e.a, authority.Config{Issuer: e.a.Issuer(), ClientID: "gateway", ClientSecret: tt.secret})
			} else {
				e.a.FailIntrospection(1, tt.fault)
			}
			tok := e.token("alice")
			rec := e.serve(tok)
			require.Equal(t, http.StatusServiceUnavailable, rec.Code, "%s", rec.Body)
			assert.Equal(t, tt.retry, rec.Header().Get("Retry-After"))
			require.ErrorIs(t, e.v.Ready(), ErrIntrospectionUnavailable)
			if tt.secret != "" {
				assert.Contains(t, e.logs.String(), "refused the gateway's request")
				assert.Contains(t, e.logs.String(), "level=ERROR")
				return
			}
			assert.Contains(t, e.logs.String(), "introspection failed")
			// Not cached: the next request asks again, and passes.
			rec = e.serve(tok)
			require.Equal(t, http.StatusOK, rec.Code, "%s", rec.Body)
			require.NoError(t, e.v.Ready())
		})
	}
}

// TestOneIntrospectionForManyCallers: 1,000 concurrent requests with one
// new token make exactly one introspection. The authority holds it until
// every other request has joined it.
func TestOneIntrospectionForManyCallers(t *testing.T) {
	const n = 1000
	e := newEnv(t, nil)
	arrived, hold := make(chan struct{}, 1), make(chan struct{})
	e.a.FailIntrospection(1, testutil.Fault{Kind: testutil.FaultDelay, Arrived: arrived, Hold: hold})
	joined := make(chan struct{}, n)
	e.v.onJoin = func() { joined <- struct{}{} }
	tok := e.token("alice")
	codes := make(chan int, n)
	for range n {
		go func() { codes <- e.serve(tok).Code }()
	}
	<-arrived
	for range n - 1 {
		<-joined
	}
	close(hold)
	for range n {
		require.Equal(t, http.StatusOK, <-codes)
	}
	assert.Equal(t, 1, e.a.Introspections())
	assert.EqualValues(t, n-1, e.metrics.Int64(t, metricLookups, lookup("coalesced")))
	assert.EqualValues(t, 1, e.metrics.Int64(t, metricLookups, lookup("miss")))
}

// TestBusy: with MaxInFlight introspections running, a new token is
// answered 503 with Retry-After: 1; a token already in flight joins it.
func TestBusy(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxInFlight = 1 })
	arrived, hold := make(chan struct{}, 1), make(chan struct{})
	e.a.FailIntrospection(1, testutil.Fault{Kind: testutil.FaultDelay, Arrived: arrived, Hold: hold})
	first := e.token("alice")
	done := make(chan int, 1)
	go func() { done <- e.serve(first).Code }()
	<-arrived
	rec := e.serve(e.token("bob"))
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Equal(t, "1", rec.Header().Get("Retry-After"))
	_, err := e.v.Validate(context.Background(), authority.NewSubjectToken(e.token("carol")))
	require.ErrorIs(t, err, ErrBusy)
	require.ErrorIs(t, err, middleware.ErrUnavailable)
	close(hold)
	require.Equal(t, http.StatusOK, <-done)
	assert.EqualValues(t, 2, e.metrics.Int64(t, metricBusy))
}

// TestCallerCancelsOnlyItself: a caller whose context ends returns 503 at
// once; the flight goes on for the others.
func TestCallerCancelsOnlyItself(t *testing.T) {
	e := newEnv(t, nil)
	arrived, hold := make(chan struct{}, 1), make(chan struct{})
	e.a.FailIntrospection(1, testutil.Fault{Kind: testutil.FaultDelay, Arrived: arrived, Hold: hold})
	tok := e.token("alice")
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan int, 1)
	go func() { first <- serveWith(e.handler, ctx, tok).Code }()
	<-arrived
	joined := make(chan struct{}, 1)
	e.v.mu.Lock()
	e.v.onJoin = func() { joined <- struct{}{} }
	e.v.mu.Unlock()
	second := make(chan int, 1)
	go func() { second <- e.serve(tok).Code }()
	<-joined
	cancel()
	require.Equal(t, http.StatusServiceUnavailable, <-first)
	close(hold)
	require.Equal(t, http.StatusOK, <-second)
	assert.Equal(t, 1, e.a.Introspections())
}

// TestCloseEndsFlights: Close ends an introspection in flight; its caller
// gets a 503 and no goroutine is left.
func TestCloseEndsFlights(t *testing.T) {
	e := newEnv(t, nil)
	arrived := make(chan struct{}, 1)
	e.a.FailIntrospection(1, testutil.Fault{Kind: testutil.FaultDelay, Arrived: arrived, Hold: make(chan struct{})})
	done := make(chan int, 1)
	go func() { done <- e.serve(e.token("alice")).Code }()
	<-arrived
	e.v.Close()
	require.Equal(t, http.StatusServiceUnavailable, <-done)
	require.Equal(t, http.StatusServiceUnavailable, e.serve(e.token("bob")).Code)
	e.v.Close()
}

// TestCheckClaims: the policy hook runs on fresh and cached answers.
func TestCheckClaims(t *testing.T) {
	calls := 0
	e := newEnv(t, func(c *Config) {
		c.CheckClaims = func(_ context.Context, c *middleware.Claims) error {
			calls++
			if c.Subject == "mallory" {
				return errors.New("not mallory")
			}
			return nil
		}
	})
	ok, bad := e.token("alice"), e.token("mallory")
	for range 2 {
		require.Equal(t, 200, e.serve(ok).Code)
		require.Equal(t, 401, e.serve(bad).Code)
	}
	assert.Equal(t, 4, calls)
	_, err := e.v.Validate(context.Background(), authority.NewSubjectToken(bad))
	require.ErrorIs(t, err, middleware.ErrRejected)
}

// TestNoAudienceCheck: with no Audience configured, a token without aud
// passes.
func TestNoAudienceCheck(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Audience = nil })
	require.Equal(t, 200, e.serve(e.a.IssueOpaqueToken(testutil.TokenClaims{Subject: "alice"})).Code)
}

// TestClientAuthMethods: the validator introspects with each client
// authentication method the authority accepts.
func TestClientAuthMethods(t *testing.T) {
	key := testKey(t)
	for _, m := range []struct {
		name   string
		client testutil.Client
		cfg    authority.Config
	}{
		{"client_secret_basic", testutil.Client{ID: "rs", Secret: "s"}, authority.Config{ClientID: "rs", ClientSecret: "s"}},
		{"client_secret_post", testutil.Client{ID: "rs", Secret: "s", AuthMethod: testutil.AuthClientSecretPost}, authority.Config{ClientID: "rs", ClientSecret: "s", AuthMethod: authority.AuthClientSecretPost}},
		{"private_key_jwt", testutil.Client{ID: "rs", AuthMethod: testutil.AuthPrivateKeyJWT, PublicKey: key}, authority.Config{ClientID: "rs", Signer: key}},
	} {
		t.Run(m.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.a.AddClient(m.client)
			m.cfg.Issuer, m.cfg.Now = e.a.Issuer(), e.clock.Now
			v, err := New(context.Background(), Config{Client: newClient(t, e.a, m.cfg), Audience: []string{"gateway"}, Now: e.clock.Now})
			require.NoError(t, err)
			defer v.Close()
			claims, err := v.Validate(context.Background(), authority.NewSubjectToken(e.token("alice")))
			require.NoError(t, err)
			assert.Equal(t, "alice", claims.Subject)
			assert.Equal(t, 1, e.a.IntrospectionsBy("rs"))
		})
	}
}

func TestNewErrors(t *testing.T) {
	a := testutil.NewAuthority(t, testutil.Options{})
	noEndpoint := newClient(t, a, authority.Config{TokenURL: a.TokenURL(), ClientID: "gateway", ClientSecret: "x"})
	withEndpoint := newClient(t, a, authority.Config{TokenURL: a.TokenURL(), IntrospectionURL: a.IntrospectionURL(), ClientID: "gateway", ClientSecret: "x"})
	for name, cfg := range map[string]Config{
		"no client":      {},
		"no issuer":      {Client: withEndpoint},
		"empty audience": {Client: withEndpoint, Issuer: a.Issuer(), Audience: []string{""}},
		"negative":       {Client: withEndpoint, Issuer: a.Issuer(), MaxAge: -1},
		"no endpoint":    {Client: noEndpoint, Issuer: a.Issuer()},
		"huge entries":   {Client: withEndpoint, Issuer: a.Issuer(), MaxEntries: 1, MaxBytes: 1 << 40},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := New(context.Background(), cfg)
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), "introspect: ") || errors.Is(err, authority.ErrNoIntrospectionEndpoint), "%v", err)
		})
	}
}
