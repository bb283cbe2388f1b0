package testutil

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClientCredentials(t *testing.T) {
	a := NewAuthority(t, Options{})
	a.AddAudience("api-x")
	a.AddClient(Client{ID: "svc", Secret: "s", Scopes: []string{"read", "write"}, ExchangeAudiences: []string{"api-a"}, TokenLifetime: time.Minute})
	a.AddClient(Client{ID: "any", Secret: "s"})
	a.AddClient(Client{ID: "public", AuthMethod: AuthNone})

	tests := []struct {
		name   string
		client string
		form   []string
		code   string
		aud    []string
		scope  string
	}{
		{name: "defaults", client: "svc", aud: []string{"svc"}, scope: "read write"},
		{name: "narrowed scope", client: "svc", form: []string{"scope", "read"}, aud: []string{"svc"}, scope: "read"},
		{name: "unknown scope", client: "svc", form: []string{"scope", "read admin"}, code: "invalid_scope"},
		{name: "audience and resource", client: "svc", form: []string{"audience", "api-a", "resource", "https://api.example/v1"}, aud: []string{"api-a", "https://api.example/v1"}, scope: "read write"},
		{name: "audience not permitted", client: "svc", form: []string{"audience", "api-x"}, code: "invalid_target"},
		{name: "unknown audience", client: "svc", form: []string{"audience", "nowhere"}, code: "invalid_target"},
		{name: "relative resource", client: "svc", form: []string{"resource", "/v1"}, code: "invalid_target"},
		{name: "any known audience when unrestricted", client: "any", form: []string{"audience", "api-x", "audience", "api-a"}, aud: []string{"api-x", "api-a"}},
		{name: "public client refused", client: "public", code: "unauthorized_client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := form(append([]string{"grant_type", GrantClientCredentials}, tt.form...)...)
			var r response
			if tt.client == "public" {
				f.Set("client_id", "public")
				r = postToken(t, a, f)
			} else {
				r = postToken(t, a, f, withBasic(tt.client, "s"))
			}
			if tt.code != "" {
				requireError(t, r, http.StatusBadRequest, tt.code)
				return
			}
			tok := requireToken(t, r)
			assert.Equal(t, tt.client, tok.Subject())
			assert.Equal(t, tt.client, claim(tok, "client_id"))
			assert.Equal(t, tt.aud, tok.Audience())
			assert.Equal(t, a.Issuer(), tok.Issuer())
			assert.NotEmpty(t, tok.JwtID())
			assert.Equal(t, tt.scope, r.str("scope"))
			assert.NotContains(t, r.body, "refresh_token")
			if tt.client == "svc" {
				assert.EqualValues(t, 60, r.body["expires_in"])
			}
		})
	}
}

func TestExpiresInOptions(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want any
	}{
		{"number", Options{}, float64(300)},
		{"string", Options{ExpiresInAsString: true}, "300"},
		{"omitted", Options{OmitExpiresIn: true}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := NewAuthority(t, tt.opts)
			a.AddClient(Client{ID: "c", Secret: "s"})
			r := postToken(t, a, form("grant_type", GrantClientCredentials), withBasic("c", "s"))
			requireToken(t, r)
			assert.Equal(t, tt.want, r.body["expires_in"])
		})
	}
}

func TestPasswordAndRefresh(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := NewClock(now)
	a := NewAuthority(t, Options{Now: clock.Now})
	a.AddClient(Client{ID: "app", Secret: "s", Scopes: []string{"openid", "profile"}})
	a.AddClient(Client{ID: "other", Secret: "s"})
	a.AddUser("alice", "pw")
	a.AddUser("bob", "pw")

	t.Run("bad credentials", func(t *testing.T) {
		r := postToken(t, a, form("grant_type", GrantPassword, "username", "alice", "password", "x"), withBasic("app", "s"))
		requireError(t, r, http.StatusBadRequest, "invalid_grant")
		assert.Equal(t, "Invalid user credentials", r.str("error_description"))
		r = postToken(t, a, form("grant_type", GrantPassword, "username", "alice"), withBasic("app", "s"))
		requireError(t, r, http.StatusBadRequest, "invalid_request")
	})

	r := postToken(t, a, form("grant_type", GrantPassword, "username", "alice", "password", "pw", "scope", "openid"), withBasic("app", "s"))
	tok := requireToken(t, r)
	assert.Equal(t, "alice", tok.Subject())
	assert.Equal(t, "openid", claim(tok, "scope"))
	sid := r.str("session_state")
	require.NotEmpty(t, sid)
	assert.Equal(t, sid, claim(tok, "sid"))
	assert.Equal(t, now.Add(5*time.Minute).Unix(), tok.Expiration().Unix())
	rt := r.str("refresh_token")
	require.NotEmpty(t, rt)

	refresh := func(client, token string, extra ...string) response {
		return postToken(t, a, form(append([]string{"grant_type", GrantRefreshToken, "refresh_token", token}, extra...)...), withBasic(client, "s"))
	}
	t.Run("refresh rotates", func(t *testing.T) {
		r2 := refresh("app", rt)
		tok2 := requireToken(t, r2)
		assert.Equal(t, "alice", tok2.Subject())
		assert.Equal(t, sid, claim(tok2, "sid"))
		assert.NotEqual(t, rt, r2.str("refresh_token"))
		requireToken(t, refresh("app", r2.str("refresh_token")))
	})
	t.Run("refresh errors", func(t *testing.T) {
		requireError(t, refresh("other", rt), http.StatusBadRequest, "invalid_grant")
		requireError(t, refresh("app", "bogus"), http.StatusBadRequest, "invalid_grant")
		requireError(t, refresh("app", rt, "scope", "profile"), http.StatusBadRequest, "invalid_scope")
		r := postToken(t, a, form("grant_type", GrantRefreshToken), withBasic("app", "s"))
		requireError(t, r, http.StatusBadRequest, "invalid_request")
	})
	t.Run("revoked session", func(t *testing.T) {
		a.RevokeSession(sid)
		r := refresh("app", rt)
		requireError(t, r, http.StatusBadRequest, "invalid_grant")
		assert.Equal(t, "Session not active", r.str("error_description"))
	})
	t.Run("revoked user sessions", func(t *testing.T) {
		r := postToken(t, a, form("grant_type", GrantPassword, "username", "bob", "password", "pw"), withBasic("app", "s"))
		requireToken(t, r)
		a.RevokeUserSessions("bob")
		r = refresh("app", r.str("refresh_token"))
		assert.Equal(t, "Session not active", r.str("error_description"))
	})
	t.Run("refresh expired", func(t *testing.T) {
		r := postToken(t, a, form("grant_type", GrantPassword, "username", "bob", "password", "pw"), withBasic("app", "s"))
		requireToken(t, r)
		clock.Advance(31 * time.Minute)
		requireError(t, refresh("app", r.str("refresh_token")), http.StatusBadRequest, "invalid_grant")
	})
}
