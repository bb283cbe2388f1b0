package testutil

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// postTo posts form to url as the token tests post to the token endpoint.
func postTo(t *testing.T, a *Authority, endpoint string, form url.Values, opts ...reqOpt) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, o := range opts {
		o(req)
	}
	return do(t, a.Client(), req)
}

func TestIntrospection(t *testing.T) {
	clock := NewClock(time.Unix(1_800_000_000, 0))
	a := NewAuthority(t, Options{Now: clock.Now})
	a.AddClient(Client{ID: "rs", Secret: "rs-secret"})
	a.AddClient(Client{ID: "poster", Secret: "p", AuthMethod: AuthClientSecretPost})
	a.AddClient(Client{ID: "public", AuthMethod: AuthNone})
	a.AddClient(Client{ID: "web", Secret: "w", OpaqueTokens: true})

	jwtTok := a.IssueToken(TokenClaims{Subject: "alice", ClientID: "web", Scope: "read", Audience: []string{"orders"}})
	opaque := a.IssueOpaqueToken(TokenClaims{Subject: "bob", ClientID: "web", Scope: "read write", Audience: []string{"orders"},
		Act: map[string]any{"sub": "svc-a"}})
	user := a.UserToken("carol", "web", "orders")
	revoked := a.IssueOpaqueToken(TokenClaims{Subject: "dave", Audience: []string{"orders"}})
	require.True(t, a.Revoke(revoked))
	revokedJWT := a.IssueToken(TokenClaims{Subject: "erin", Audience: []string{"orders"}})
	require.True(t, a.Revoke(revokedJWT))
	short := a.IssueOpaqueToken(TokenClaims{Subject: "frank", Expiry: clock.Now().Add(time.Second)})
	clock.Advance(2 * time.Second)
	require.False(t, a.Revoke("not-a-token"))
	require.True(t, strings.HasPrefix(user, opaquePrefix), "tokens issued to web are opaque")

	tests := []struct {
		name   string
		token  string
		active bool
		sub    string
		user   string
		act    bool
	}{
		{name: "jwt", token: jwtTok, active: true, sub: "alice"},
		{name: "opaque with act", token: opaque, active: true, sub: "bob", act: true},
		{name: "user token", token: user, active: true, sub: "carol", user: "carol"},
		{name: "revoked opaque", token: revoked},
		{name: "revoked jwt", token: revokedJWT},
		{name: "expired opaque", token: short},
		{name: "unknown", token: "opaque.nothing"},
		{name: "garbage jwt", token: "a.b.c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := postTo(t, a, a.IntrospectionURL(), form("token", tt.token, "token_type_hint", "access_token"), withBasic("rs", "rs-secret"))
			require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
			require.Equal(t, "no-store", r.header.Get("Cache-Control"))
			if !tt.active {
				assert.JSONEq(t, `{"active":false}`, string(r.raw))
				return
			}
			assert.Equal(t, true, r.body["active"])
			assert.Equal(t, tt.sub, r.str("sub"))
			assert.Equal(t, a.Issuer(), r.str("iss"))
			assert.Equal(t, []any{"orders"}, r.body["aud"])
			assert.Equal(t, "Bearer", r.str("token_type"))
			assert.Equal(t, "web", r.str("client_id"))
			assert.NotEmpty(t, r.str("jti"))
			assert.IsType(t, float64(0), r.body["exp"])
			assert.IsType(t, float64(0), r.body["iat"])
			assert.Equal(t, tt.user, r.str("username"))
			if tt.act {
				assert.Equal(t, map[string]any{"sub": "svc-a"}, r.body["act"])
			}
		})
	}

	t.Run("client authentication", func(t *testing.T) {
		requireError(t, postTo(t, a, a.IntrospectionURL(), form("token", jwtTok)), http.StatusUnauthorized, "invalid_client")
		requireError(t, postTo(t, a, a.IntrospectionURL(), form("token", jwtTok), withBasic("rs", "wrong")), http.StatusUnauthorized, "invalid_client")
		requireError(t, postTo(t, a, a.IntrospectionURL(), form("token", jwtTok, "client_id", "public")), http.StatusUnauthorized, "invalid_client")
		r := postTo(t, a, a.IntrospectionURL(), form("token", jwtTok, "client_id", "poster", "client_secret", "p"))
		assert.Equal(t, true, r.body["active"])
		requireError(t, postTo(t, a, a.IntrospectionURL(), form(), withBasic("rs", "rs-secret")), http.StatusBadRequest, "invalid_request")
		resp, err := a.Client().Get(a.IntrospectionURL())
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	})
	assert.Equal(t, len(tests)+5, a.Introspections())
	assert.Equal(t, len(tests)+2, a.IntrospectionsBy("rs"))
}

// TestIntrospectionOwnTokenType: a token whose claims name its own
// token_type (and typ, as Keycloak's refresh and ID tokens do) is
// described with them; others are "Bearer".
func TestIntrospectionOwnTokenType(t *testing.T) {
	a := NewAuthority(t, Options{})
	a.AddClient(Client{ID: "rs", Secret: "rs-secret"})
	tests := []struct {
		name           string
		extra          map[string]any
		tokenType, typ string
	}{
		{name: "access token", tokenType: "Bearer"},
		{name: "keycloak access token", extra: map[string]any{"typ": "Bearer"}, tokenType: "Bearer", typ: "Bearer"},
		{name: "refresh token", extra: map[string]any{"token_type": "refresh_token", "typ": "Refresh"}, tokenType: "refresh_token", typ: "Refresh"},
		{name: "id token", extra: map[string]any{"typ": "ID"}, tokenType: "Bearer", typ: "ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := a.IssueOpaqueToken(TokenClaims{Subject: "alice", Extra: tt.extra})
			r := postTo(t, a, a.IntrospectionURL(), form("token", tok), withBasic("rs", "rs-secret"))
			require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
			assert.Equal(t, true, r.body["active"])
			assert.Equal(t, tt.tokenType, r.str("token_type"))
			assert.Equal(t, tt.typ, r.str("typ"))
		})
	}
}

func TestIntrospectionPrivateKeyJWT(t *testing.T) {
	a := NewAuthority(t, Options{})
	key := assertionKey(t)
	a.AddClient(Client{ID: "rs", AuthMethod: AuthPrivateKeyJWT, PublicKey: key})
	tok := a.IssueOpaqueToken(TokenClaims{Subject: "alice"})
	for _, aud := range []string{a.Issuer(), a.TokenURL(), a.IntrospectionURL()} {
		r := postTo(t, a, a.IntrospectionURL(), form("token", tok, "client_id", "rs",
			"client_assertion_type", ClientAssertionTypeJWTBearer, "client_assertion", assertion(t, key, "rs", aud, nil)))
		assert.Equal(t, true, r.body["active"], "aud %s: %s", aud, r.raw)
	}
	r := postTo(t, a, a.IntrospectionURL(), form("token", tok, "client_id", "rs",
		"client_assertion_type", ClientAssertionTypeJWTBearer, "client_assertion", assertion(t, key, "rs", "https://elsewhere", nil)))
	requireError(t, r, http.StatusUnauthorized, "invalid_client")
}

func TestRevocationEndpoint(t *testing.T) {
	a := NewAuthority(t, Options{})
	a.AddClient(Client{ID: "rs", Secret: "s"})
	tok := a.IssueOpaqueToken(TokenClaims{Subject: "alice"})
	introspect := func() any {
		return postTo(t, a, a.IntrospectionURL(), form("token", tok), withBasic("rs", "s")).body["active"]
	}
	require.Equal(t, true, introspect())
	requireError(t, postTo(t, a, a.RevocationURL(), form("token", tok)), http.StatusUnauthorized, "invalid_client")
	requireError(t, postTo(t, a, a.RevocationURL(), form(), withBasic("rs", "s")), http.StatusBadRequest, "invalid_request")
	require.Equal(t, true, introspect())
	for _, token := range []string{tok, "unknown"} {
		r := postTo(t, a, a.RevocationURL(), form("token", token, "token_type_hint", "access_token"), withBasic("rs", "s"))
		require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	}
	assert.Equal(t, false, introspect())
	assert.Equal(t, 2, a.Revocations())
}

func TestOpaqueSubjectExchange(t *testing.T) {
	a := NewAuthority(t, Options{})
	a.AddClient(Client{ID: "gw", Secret: "s", ExchangeAudiences: []string{"orders"}})
	a.AddClient(Client{ID: "web", Secret: "w", OpaqueTokens: true})
	a.AddUser("alice", "pw")

	// Grant-issued opaque token.
	r := postToken(t, a, form("grant_type", GrantPassword, "username", "alice", "password", "pw"), withBasic("web", "w"))
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	subject := r.str("access_token")
	require.True(t, strings.HasPrefix(subject, opaquePrefix))
	direct := a.IssueOpaqueToken(TokenClaims{Subject: "bob", Scope: "read"})

	exchange := func(tok string) response {
		return postToken(t, a, form("grant_type", GrantTokenExchange, "subject_token", tok,
			"subject_token_type", TokenTypeAccessToken, "audience", "orders"), withBasic("gw", "s"))
	}
	for sub, tok := range map[string]string{"alice": subject, "bob": direct} {
		issued := requireToken(t, exchange(tok))
		assert.Equal(t, sub, issued.Subject())
	}
	a.Revoke(direct)
	requireError(t, exchange(direct), http.StatusBadRequest, "invalid_request")
	requireError(t, exchange("opaque.unknown"), http.StatusBadRequest, "invalid_request")
}

func TestIntrospectionFaults(t *testing.T) {
	a := NewAuthority(t, Options{})
	a.AddClient(Client{ID: "rs", Secret: "s"})
	tok := a.IssueOpaqueToken(TokenClaims{Subject: "alice"})
	a.FailIntrospection(1, Fault{Kind: FaultHTML, Status: http.StatusBadGateway})
	arrived := make(chan struct{}, 1)
	hold := make(chan struct{})
	a.FailIntrospection(1, Fault{Kind: FaultDelay, Arrived: arrived, Hold: hold})

	r := postTo(t, a, a.IntrospectionURL(), form("token", tok), withBasic("rs", "s"))
	assert.Equal(t, http.StatusBadGateway, r.status)
	assert.Equal(t, 0, a.Introspections())

	done := make(chan response, 1)
	go func() { done <- postTo(t, a, a.IntrospectionURL(), form("token", tok), withBasic("rs", "s")) }()
	<-arrived
	select {
	case <-done:
		t.Fatal("a held request was answered")
	default:
	}
	close(hold)
	r = <-done
	assert.Equal(t, true, r.body["active"])
	assert.Equal(t, 1, a.Introspections())
}

func TestDiscoveryAdvertisesIntrospection(t *testing.T) {
	a := NewAuthority(t, Options{})
	resp, err := a.Client().Get(a.DiscoveryURL())
	require.NoError(t, err)
	r := do(t, a.Client(), resp.Request)
	resp.Body.Close()
	assert.Equal(t, a.IntrospectionURL(), r.str("introspection_endpoint"))
	assert.Equal(t, a.RevocationURL(), r.str("revocation_endpoint"))
}
