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

func oboForm(assertion string, kv ...string) url.Values {
	return form(append([]string{
		"grant_type", GrantJWTBearer,
		"assertion", assertion,
		"requested_token_use", "on_behalf_of",
	}, kv...)...)
}

func TestOnBehalfOf(t *testing.T) {
	clock := NewClock(time.Now())
	a := NewAuthority(t, Options{Now: clock.Now})
	foreign := NewAuthority(t, Options{})
	a.AddClient(Client{ID: "mid", Secret: "s"})
	a.AddClient(Client{ID: "narrow", Secret: "s", Scopes: []string{"api://orders/read"}})
	a.RequireConsent("api://billing/.default")
	a.RequireStepUp("api://payroll/.default", "c1")

	user := a.IssueToken(TokenClaims{Subject: "alice", Audience: []string{"mid", "narrow"}, Extra: map[string]any{"sid": "s-1"}})
	steppedUp := a.IssueToken(TokenClaims{Subject: "alice", Audience: []string{"mid"}, Extra: map[string]any{"acrs": []string{"c1"}}})
	otherAud := a.IssueToken(TokenClaims{Subject: "alice", Audience: []string{"web"}})
	expired := a.IssueToken(TokenClaims{Subject: "alice", Audience: []string{"mid"}, Expiry: clock.Now().Add(-time.Second)})
	noSub := a.IssueToken(TokenClaims{Audience: []string{"mid"}})
	alien := foreign.IssueToken(TokenClaims{Subject: "alice", Audience: []string{"mid"}})

	t.Run("default scope", func(t *testing.T) {
		r := postToken(t, a, oboForm(user, "scope", "api://orders/.default"), withBasic("mid", "s"))
		tok := requireToken(t, r)
		assert.Equal(t, "alice", tok.Subject())
		assert.Equal(t, []string{"api://orders"}, tok.Audience())
		assert.Equal(t, "user_impersonation", claim(tok, "scp"))
		assert.Equal(t, "mid", claim(tok, "azp"))
		assert.Equal(t, "s-1", claim(tok, "sid"))
		assert.Equal(t, "api://orders/.default", r.str("scope"))
		assert.Empty(t, r.str("issued_token_type"))
	})
	t.Run("named permissions", func(t *testing.T) {
		r := postToken(t, a, oboForm(user, "scope", "api://orders/read api://orders/write"), withBasic("mid", "s"))
		tok := requireToken(t, r)
		assert.Equal(t, "read write", claim(tok, "scp"))
	})
	t.Run("step-up satisfied", func(t *testing.T) {
		r := postToken(t, a, oboForm(steppedUp, "scope", "api://payroll/.default"), withBasic("mid", "s"))
		requireToken(t, r)
	})

	tests := []struct {
		name   string
		client string
		form   url.Values
		status int
		code   string
		aadsts float64
	}{
		{"no requested_token_use", "mid", form("grant_type", GrantJWTBearer, "assertion", user, "scope", "api://orders/.default"), 400, "invalid_request", 900144},
		{"no assertion", "mid", oboForm("", "scope", "api://orders/.default"), 400, "invalid_request", 900144},
		{"no scope", "mid", oboForm(user), 400, "invalid_request", 900144},
		{"expired assertion", "mid", oboForm(expired, "scope", "api://orders/.default"), 400, "invalid_grant", 500133},
		{"foreign assertion", "mid", oboForm(alien, "scope", "api://orders/.default"), 400, "invalid_grant", 50013},
		{"garbage assertion", "mid", oboForm("not-a-jwt", "scope", "api://orders/.default"), 400, "invalid_grant", 50013},
		{"assertion without sub", "mid", oboForm(noSub, "scope", "api://orders/.default"), 400, "invalid_grant", 50013},
		{"assertion for another client", "mid", oboForm(otherAud, "scope", "api://orders/.default"), 400, "invalid_grant", 50013},
		{"scope without resource", "mid", oboForm(user, "scope", "read"), 400, "invalid_scope", 70011},
		{"two resources", "mid", oboForm(user, "scope", "api://orders/read api://billing/read"), 400, "invalid_request", 28000},
		{"scope not allowed", "narrow", oboForm(user, "scope", "api://orders/write"), 400, "invalid_scope", 70011},
		{"consent", "mid", oboForm(user, "scope", "api://billing/.default"), 400, "consent_required", 65001},
		{"step-up", "mid", oboForm(user, "scope", "api://payroll/.default"), 400, "interaction_required", 50076},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := postToken(t, a, tt.form, withBasic(tt.client, "s"))
			requireError(t, r, tt.status, tt.code)
			assert.Equal(t, []any{tt.aadsts}, r.body["error_codes"])
			desc := r.str("error_description")
			assert.True(t, strings.HasPrefix(desc, "AADSTS"), desc)
			assert.Contains(t, desc, "Trace ID: "+r.str("trace_id"))
			assert.Contains(t, desc, "Correlation ID: "+r.str("correlation_id"))
			assert.NotEmpty(t, r.str("timestamp"))
			if tt.code == "interaction_required" {
				assert.JSONEq(t, `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`, r.str("claims"))
			} else {
				assert.NotContains(t, r.body, "claims")
			}
		})
	}
	assert.Equal(t, 3, a.Issued(GrantJWTBearer))
	assert.Equal(t, 3, a.ExchangesFor("alice"))
	assert.Equal(t, 3+len(tests), a.Count(GrantJWTBearer))
}

func TestOnBehalfOfClientAuthentication(t *testing.T) {
	a := NewAuthority(t, Options{})
	user := a.IssueToken(TokenClaims{Subject: "alice", Audience: []string{"mid"}})
	a.AddClient(Client{ID: "mid", Secret: "s"})
	r := postToken(t, a, oboForm(user, "scope", "api://orders/.default"), withBasic("mid", "wrong"))
	requireError(t, r, http.StatusUnauthorized, "invalid_client")
	require.Equal(t, 0, a.ExchangesFor("alice"))
}
