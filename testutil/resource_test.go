package testutil

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestResourceServer(t *testing.T) {
	clock := NewClock(time.Now())
	a := NewAuthority(t, Options{Now: clock.Now})
	rs := NewResourceServer(t, a, "api")
	good := a.IssueToken(TokenClaims{Subject: "alice", ClientID: "gw", Scope: "read", Audience: []string{"other", "api"},
		Act: map[string]any{"sub": "gw", "act": map[string]any{"sub": "edge"}}})
	tests := []struct {
		name   string
		header []string
		status int
		errHas string
	}{
		{name: "valid", header: []string{"Bearer " + good}, status: 200},
		{name: "lowercase scheme", header: []string{"bearer " + good}, status: 200},
		{name: "no header", status: 401, errHas: "no Authorization"},
		{name: "basic", header: []string{"Basic eDp5"}, status: 401, errHas: "Bearer"},
		{name: "two headers", header: []string{"Bearer " + good, "Bearer " + good}, status: 401, errHas: "more than one"},
		{name: "wrong audience", header: []string{"Bearer " + a.IssueToken(TokenClaims{Subject: "alice", Audience: []string{"other"}})}, status: 401, errHas: "aud"},
		{name: "expired", header: []string{"Bearer " + a.IssueToken(TokenClaims{Subject: "alice", Audience: []string{"api"}, Expiry: clock.Now().Add(-time.Second)})}, status: 401, errHas: "expired"},
		{name: "foreign", header: []string{"Bearer " + NewAuthority(t, Options{}).IssueToken(TokenClaims{Subject: "alice", Audience: []string{"api"}})}, status: 401, errHas: "signature"},
		{name: "garbage", header: []string{"Bearer abc"}, status: 401, errHas: "not a JWT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs.Reset()
			req, _ := http.NewRequest(http.MethodPost, rs.URL+"/items/1", strings.NewReader("payload"))
			for _, h := range tt.header {
				req.Header.Add("Authorization", h)
			}
			r := do(t, rs.Client(), req)
			require.Equal(t, tt.status, r.status)
			got := rs.Received()
			require.Len(t, got, 1)
			rec := got[0]
			assert.Equal(t, "POST", rec.Method)
			assert.Equal(t, "/items/1", rec.Path)
			assert.Equal(t, []byte("payload"), rec.Body)
			if tt.status == 200 {
				assert.True(t, rec.Authorized)
				assert.Equal(t, good, rec.Token)
				assert.Equal(t, "alice", rec.Subject)
				assert.Equal(t, "gw", rec.ClientID)
				assert.Equal(t, "read", rec.Scope)
				assert.Equal(t, []string{"gw", "edge"}, rec.Act)
				assert.Equal(t, map[string]any{"audience": "api", "sub": "alice", "act": []any{"gw", "edge"}, "scope": "read", "path": "/items/1"}, r.body)
				return
			}
			assert.False(t, rec.Authorized)
			assert.Contains(t, rec.Err, tt.errHas)
			assert.Equal(t, `Bearer error="invalid_token"`, r.header.Get("WWW-Authenticate"))
		})
	}
}

// TestResourceServerOpaque: an opaque token of the authority is accepted
// with its claims, and refused once revoked.
func TestResourceServerOpaque(t *testing.T) {
	a := NewAuthority(t, Options{})
	rs := NewResourceServer(t, a, "api")
	tok := a.IssueOpaqueToken(TokenClaims{Subject: "alice", Audience: []string{"api"}})
	get := func() int {
		req, _ := http.NewRequest(http.MethodGet, rs.URL+"/items/1", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		return do(t, rs.Client(), req).status
	}
	require.Equal(t, http.StatusOK, get())
	assert.Equal(t, "alice", rs.Received()[0].Subject)
	a.Revoke(tok)
	assert.Equal(t, http.StatusUnauthorized, get())
}

func TestResourceServerFailNext(t *testing.T) {
	a := NewAuthority(t, Options{})
	rs := NewResourceServer(nil, a, "api")
	defer rs.Close()
	tok := a.IssueToken(TokenClaims{Subject: "alice", Audience: []string{"api"}})
	rs.FailNext(1, http.StatusUnauthorized)
	rs.FailNext(1, http.StatusServiceUnavailable)
	var statuses []int
	for range 3 {
		req, _ := http.NewRequest(http.MethodGet, rs.URL+"/", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		r := do(t, rs.Client(), req)
		statuses = append(statuses, r.status)
		if r.status == 401 {
			assert.Equal(t, `Bearer error="invalid_token"`, r.header.Get("WWW-Authenticate"))
		}
	}
	assert.Equal(t, []int{401, 503, 200}, statuses)
	got := rs.Received()
	require.Len(t, got, 3)
	assert.False(t, got[0].Authorized)
	assert.Equal(t, tok, got[0].Token)
	assert.False(t, got[1].Authorized)
	assert.True(t, got[2].Authorized)
}

func TestIssueTokenShape(t *testing.T) {
	for _, alg := range []Algorithm{RS256, ES256} {
		t.Run(string(alg), func(t *testing.T) {
			a := NewAuthority(t, Options{Algorithm: alg})
			raw := a.IssueToken(TokenClaims{Subject: "bob", Audience: []string{"api"}})
			kid, typ := headerKid(t, raw)
			assert.Equal(t, a.ActiveKeyID(), kid)
			assert.Equal(t, "at+jwt", typ)
			tok, err := a.verify(raw)
			require.NoError(t, err)
			assert.Equal(t, "bob", tok.Subject())
			keys := a.PublicKeys()
			require.Len(t, keys, 1)
			assert.Equal(t, alg, keys[0].Algorithm)
			assert.Equal(t, kid, keys[0].KeyID)
			switch alg {
			case RS256:
				assert.IsType(t, &rsa.PublicKey{}, keys[0].Key)
			case ES256:
				assert.IsType(t, &ecdsa.PublicKey{}, keys[0].Key)
			}
			rs := NewResourceServer(t, a, "api")
			req, _ := http.NewRequest(http.MethodGet, rs.URL, nil)
			req.Header.Set("Authorization", "Bearer "+raw)
			assert.Equal(t, http.StatusOK, do(t, rs.Client(), req).status)
		})
	}
}

func TestCountersAndLog(t *testing.T) {
	a := NewAuthority(t, Options{})
	a.AddClient(Client{ID: "c", Secret: "s"})
	postToken(t, a, form("grant_type", GrantClientCredentials), withBasic("c", "s"))
	postToken(t, a, form("grant_type", GrantClientCredentials, "scope", ""), withBasic("c", "bad"))
	postToken(t, a, form("grant_type", GrantPassword, "username", "x", "password", "y"), withBasic("c", "s"))
	assert.Equal(t, 2, a.Count(GrantClientCredentials))
	assert.Equal(t, 1, a.Issued(GrantClientCredentials))
	assert.Equal(t, 1, a.Count(GrantPassword))
	assert.Equal(t, 0, a.Issued(GrantPassword))
	log := a.Requests()
	require.Len(t, log, 3)
	assert.Equal(t, GrantClientCredentials, log[0].Grant)
	assert.Equal(t, "c", log[0].ClientID)
	assert.Equal(t, AuthClientSecretBasic, log[0].AuthMethod)
	assert.False(t, log[0].Time.IsZero())
	log[2].Form.Set("username", "mutated")
	assert.Equal(t, "x", a.Requests()[2].Form.Get("username"), "Requests returns a copy")
	a.Reset()
	assert.Equal(t, 0, a.Count(GrantClientCredentials))
	assert.Equal(t, 0, a.Issued(GrantClientCredentials))
	assert.Empty(t, a.Requests())
}
