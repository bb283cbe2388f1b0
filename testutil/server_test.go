package testutil

import (
	"net/http"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDiscovery(t *testing.T) {
	a := NewAuthority(t, Options{})
	for _, path := range []string{"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"} {
		t.Run(path, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, a.URL+path, nil)
			r := do(t, a.Client(), req)
			require.Equal(t, http.StatusOK, r.status)
			assert.Equal(t, a.Issuer(), r.str("issuer"))
			assert.Equal(t, a.TokenURL(), r.str("token_endpoint"))
			assert.Equal(t, a.JWKSURL(), r.str("jwks_uri"))
			assert.ElementsMatch(t, []any{"client_secret_basic", "client_secret_post", "private_key_jwt", "none"},
				r.body["token_endpoint_auth_methods_supported"])
			assert.Contains(t, r.body["grant_types_supported"], GrantTokenExchange)
			assert.Contains(t, r.body["token_endpoint_auth_signing_alg_values_supported"], "RS256")
		})
	}
	assert.Equal(t, 2, a.DiscoveryCount())
	assert.False(t, strings.HasSuffix(a.URL, "/"))
	assert.Equal(t, a.URL+"/.well-known/oauth-authorization-server", a.DiscoveryURL())
}

func TestJWKS(t *testing.T) {
	a := NewAuthority(t, Options{})
	resp, err := a.Client().Get(a.JWKSURL())
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	set, err := jwk.ParseReader(resp.Body)
	require.NoError(t, err)
	require.Equal(t, 1, set.Len())
	k, _ := set.Key(0)
	assert.Equal(t, a.ActiveKeyID(), k.KeyID())
	_, isPrivate := k.(jwk.RSAPrivateKey)
	assert.False(t, isPrivate, "JWKS must not publish private keys")
}

func TestTokenEndpointRequestErrors(t *testing.T) {
	a := NewAuthority(t, Options{})
	a.AddClient(Client{ID: "c", Secret: "s"})
	tests := []struct {
		name   string
		method string
		ctype  string
		body   string
		status int
		code   string
	}{
		{"GET", http.MethodGet, "", "", http.StatusMethodNotAllowed, "invalid_request"},
		{"JSON body", http.MethodPost, "application/json", `{"grant_type":"client_credentials"}`, http.StatusBadRequest, "invalid_request"},
		{"missing grant_type", http.MethodPost, "application/x-www-form-urlencoded", "scope=a", http.StatusBadRequest, "invalid_request"},
		{"unknown grant", http.MethodPost, "application/x-www-form-urlencoded", "grant_type=implicit", http.StatusBadRequest, "unsupported_grant_type"},
		{"repeated parameter", http.MethodPost, "application/x-www-form-urlencoded", "grant_type=client_credentials&grant_type=password", http.StatusBadRequest, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, a.TokenURL(), strings.NewReader(tt.body))
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			withBasic("c", "s")(req)
			requireError(t, do(t, a.Client(), req), tt.status, tt.code)
		})
	}
}

func TestCloseTwice(t *testing.T) {
	a := NewAuthority(nil, Options{})
	a.Close()
	a.Close()
	rs := NewResourceServer(nil, NewAuthority(t, Options{}), "api")
	rs.Close()
	rs.Close()
}
