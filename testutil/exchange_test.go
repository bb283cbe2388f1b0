package testutil

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func exchangeForm(subject string, kv ...string) url.Values {
	return form(append([]string{
		"grant_type", GrantTokenExchange,
		"subject_token", subject,
		"subject_token_type", TokenTypeAccessToken,
	}, kv...)...)
}

func TestTokenExchange(t *testing.T) {
	clock := NewClock(time.Now())
	a := NewAuthority(t, Options{Now: clock.Now})
	foreign := NewAuthority(t, Options{})
	a.AddClient(Client{ID: "gw", Secret: "s", ExchangeAudiences: []string{"api-b", "api-c"}})
	a.AddClient(Client{ID: "narrow", Secret: "s", Scopes: []string{"read"}})
	a.AddAudience("api-z")

	user := a.UserToken("alice", "web")
	scoped := a.IssueToken(TokenClaims{Subject: "alice", Scope: "read write", Audience: []string{"gw"}})
	expired := a.IssueToken(TokenClaims{Subject: "alice", Expiry: clock.Now().Add(-time.Second)})
	noSub := a.IssueToken(TokenClaims{Audience: []string{"gw"}})
	otherIss := a.IssueToken(TokenClaims{Subject: "alice", Extra: map[string]any{"iss": "https://evil"}})
	actor := a.IssueToken(TokenClaims{Subject: "svc-gw"})

	t.Run("happy path", func(t *testing.T) {
		r := postToken(t, a, exchangeForm(user, "audience", "api-b", "resource", "https://b.example/"), withBasic("gw", "s"))
		tok := requireToken(t, r)
		assert.Equal(t, TokenTypeAccessToken, r.str("issued_token_type"))
		assert.NotContains(t, r.body, "refresh_token")
		assert.Equal(t, "alice", tok.Subject())
		assert.Equal(t, []string{"api-b", "https://b.example/"}, tok.Audience())
		assert.Equal(t, "gw", claim(tok, "client_id"))
		assert.NotEmpty(t, claim(tok, "sid"), "sid is kept from the subject token")
		assert.Nil(t, claim(tok, "act"))
	})
	t.Run("default audience, jwt types", func(t *testing.T) {
		f := exchangeForm(user, "requested_token_type", TokenTypeJWT)
		f.Set("subject_token_type", TokenTypeJWT)
		r := postToken(t, a, f, withBasic("gw", "s"))
		tok := requireToken(t, r)
		assert.Equal(t, TokenTypeJWT, r.str("issued_token_type"))
		assert.Equal(t, []string{"gw"}, tok.Audience())
	})
	t.Run("scope", func(t *testing.T) {
		r := postToken(t, a, exchangeForm(scoped, "scope", "read"), withBasic("gw", "s"))
		requireToken(t, r)
		assert.Equal(t, "read", r.str("scope"))
		r = postToken(t, a, exchangeForm(scoped), withBasic("gw", "s"))
		assert.Equal(t, "read write", r.str("scope"))
	})

	tests := []struct {
		name string
		form url.Values
		code string
		desc string
	}{
		{"missing subject_token", form("grant_type", GrantTokenExchange, "subject_token_type", TokenTypeAccessToken), "invalid_request", "subject_token"},
		{"missing subject_token_type", form("grant_type", GrantTokenExchange, "subject_token", user), "invalid_request", "subject_token_type"},
		{"refresh token type", func() url.Values {
			f := exchangeForm(user)
			f.Set("subject_token_type", TokenTypeRefreshToken)
			return f
		}(), "invalid_request", "unsupported"},
		{"not a JWT", exchangeForm("opaque"), "invalid_request", "not a JWT"},
		{"foreign signer", exchangeForm(foreign.UserToken("alice", "web")), "invalid_request", "signature"},
		{"tampered", exchangeForm(user[:len(user)-4] + "AAAA"), "invalid_request", "signature"},
		{"expired", exchangeForm(expired), "invalid_request", "expired"},
		{"other issuer", exchangeForm(otherIss), "invalid_request", "issuer"},
		{"no sub", exchangeForm(noSub), "invalid_request", "sub"},
		{"actor without type", exchangeForm(user, "actor_token", actor), "invalid_request", "actor_token_type"},
		{"actor type without actor", exchangeForm(user, "actor_token_type", TokenTypeAccessToken), "invalid_request", "actor_token"},
		{"bad actor", exchangeForm(user, "actor_token", expired, "actor_token_type", TokenTypeAccessToken), "invalid_request", "actor_token rejected"},
		{"requested refresh token", exchangeForm(user, "requested_token_type", TokenTypeRefreshToken), "invalid_request", "requested_token_type"},
		{"unknown audience", exchangeForm(user, "audience", "nowhere"), "invalid_target", "unknown"},
		{"audience not permitted", exchangeForm(user, "audience", "api-z"), "invalid_target", "not permitted"},
		{"relative resource", exchangeForm(user, "resource", "api-b"), "invalid_target", "absolute"},
		{"scope beyond subject", exchangeForm(scoped, "scope", "admin"), "invalid_scope", "subject"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := postToken(t, a, tt.form, withBasic("gw", "s"))
			requireError(t, r, http.StatusBadRequest, tt.code)
			assert.Contains(t, r.str("error_description"), tt.desc)
			assert.NotContains(t, string(r.raw), user, "tokens never echoed")
		})
	}
	t.Run("scope beyond client", func(t *testing.T) {
		requireError(t, postToken(t, a, exchangeForm(user, "scope", "write"), withBasic("narrow", "s")), http.StatusBadRequest, "invalid_scope")
	})
	t.Run("requester not in the subject's audience", func(t *testing.T) {
		a.AddClient(Client{ID: "strict", Secret: "s", RequireSubjectAudience: true})
		r := postToken(t, a, exchangeForm(user), withBasic("strict", "s"))
		requireError(t, r, http.StatusForbidden, "access_denied")
		assert.Equal(t, "Client is not within the token audience", r.str("error_description"))
		forStrict := a.IssueToken(TokenClaims{Subject: "alice", Audience: []string{"strict"}})
		requireToken(t, postToken(t, a, exchangeForm(forStrict), withBasic("strict", "s")))
	})
	assert.Equal(t, 5, a.ExchangesFor("alice"))
	assert.Equal(t, 5, a.Issued(GrantTokenExchange))
	assert.Equal(t, 7+len(tests), a.Count(GrantTokenExchange)) // + "scope beyond client" and the two strict ones
}

// TestExchangeActChain delegates user -> svc-a -> svc-b -> svc-c; each hop
// exchanges the token it received, presenting its own token as actor.
func TestExchangeActChain(t *testing.T) {
	a := NewAuthority(t, Options{})
	for _, id := range []string{"svc-a", "svc-b", "svc-c"} {
		a.AddClient(Client{ID: id, Secret: "s"})
	}
	a.AddAudience("api")
	token := a.UserToken("alice", "web", "svc-a")
	var want []string
	for _, id := range []string{"svc-a", "svc-b", "svc-c"} {
		r := postToken(t, a, form("grant_type", GrantClientCredentials), withBasic(id, "s"))
		own := r.str("access_token")
		r = postToken(t, a, exchangeForm(token, "actor_token", own, "actor_token_type", TokenTypeAccessToken, "audience", "api"), withBasic(id, "s"))
		tok := requireToken(t, r)
		want = append([]string{id}, want...)
		assert.Equal(t, "alice", tok.Subject())
		assert.Equal(t, want, actChain(tok))
		token = r.str("access_token")
	}
	// The last hop's act is {sub: svc-c, act: {sub: svc-b, act: {sub: svc-a}}}.
	rs := NewResourceServer(t, a, "api")
	req, _ := http.NewRequest(http.MethodGet, rs.URL+"/x", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	r := do(t, rs.Client(), req)
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, []any{"svc-c", "svc-b", "svc-a"}, r.body["act"])
}

func TestExchangeAfterKeyRotation(t *testing.T) {
	for _, alg := range []Algorithm{RS256, ES256} {
		t.Run(string(alg), func(t *testing.T) {
			a := NewAuthority(t, Options{Algorithm: alg})
			a.AddClient(Client{ID: "gw", Secret: "s"})
			oldKid := a.ActiveKeyID()
			old := a.UserToken("alice", "web")
			newKid := a.RotateKey()
			require.NotEqual(t, oldKid, newKid)
			assert.Equal(t, 2, len(a.PublicKeys()))

			tok := requireToken(t, postToken(t, a, exchangeForm(old), withBasic("gw", "s")))
			kid, _ := headerKid(t, postToken(t, a, exchangeForm(old), withBasic("gw", "s")).str("access_token"))
			assert.Equal(t, newKid, kid, "new tokens use the new key")
			assert.Equal(t, "alice", tok.Subject())

			a.RemoveKey(oldKid)
			assert.Equal(t, 1, len(a.PublicKeys()))
			r := postToken(t, a, exchangeForm(old), withBasic("gw", "s"))
			requireError(t, r, http.StatusBadRequest, "invalid_request")
		})
	}
}

func TestExchangeParallel(t *testing.T) {
	a := NewAuthority(t, Options{})
	a.AddClient(Client{ID: "gw", Secret: "s", ExchangeAudiences: []string{"api"}})
	subject := a.UserToken("alice", "web")
	const n = 200
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodPost, a.TokenURL(), strings.NewReader(exchangeForm(subject, "audience", "api").Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth("gw", "s")
			resp, err := a.Client().Do(req)
			if err != nil {
				errs <- err.Error()
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				errs <- resp.Status
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	assert.Equal(t, n, a.ExchangesFor("alice"))
	assert.Equal(t, n, a.Count(GrantTokenExchange))
	assert.Len(t, a.Requests(), n)
}
