package authority_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDiscovery(t *testing.T) {
	a := newAuthority(t, testutil.Options{})
	c := newClient(t, a, authority.Config{Issuer: a.Issuer(), ClientID: "poster", ClientSecret: "poster secret&="})
	ctx := context.Background()

	meta, err := c.Metadata(ctx)
	require.NoError(t, err)
	assert.Equal(t, a.TokenURL(), meta.TokenEndpoint)
	assert.Equal(t, a.JWKSURL(), meta.JWKSURI)

	// The client is registered for client_secret_post; discovery lists
	// basic too, so basic is chosen and refused, proving the choice came
	// from discovery. A client that names its method gets it.
	_, err = c.ClientCredentials(ctx, authority.ClientCredentialsRequest{})
	require.ErrorIs(t, err, authority.ErrInvalidClient)

	post := newClient(t, a, authority.Config{Issuer: a.Issuer(), ClientID: "poster", ClientSecret: "poster secret&=", AuthMethod: authority.AuthClientSecretPost})
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := post.ClientCredentials(ctx, authority.ClientCredentialsRequest{})
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	assert.Equal(t, 2, a.DiscoveryCount(), "one discovery per client, however many callers")
}

func TestDiscoveryRetriesAfterFailure(t *testing.T) {
	a := newAuthority(t, testutil.Options{})
	// Both the RFC 8414 and the OIDC documents fail once.
	a.FailDiscovery(2, testutil.Fault{Status: http.StatusServiceUnavailable})
	c := newClient(t, a, authority.Config{Issuer: a.Issuer(), ClientID: "gateway", ClientSecret: "gateway-secret"})

	_, err := c.Metadata(context.Background())
	require.Error(t, err)
	assert.True(t, authority.IsTemporary(err))
	assert.Contains(t, err.Error(), "HTTP 503")

	_, err = c.ClientCredentials(context.Background(), authority.ClientCredentialsRequest{})
	require.NoError(t, err, "a failed discovery is not remembered")
}

func TestDiscoveryFallsBackToOpenIDConfiguration(t *testing.T) {
	a := newAuthority(t, testutil.Options{})
	a.FailDiscovery(1, testutil.Fault{Status: http.StatusNotFound})
	c := newClient(t, a, authority.Config{Issuer: a.Issuer(), ClientID: "gateway", ClientSecret: "gateway-secret"})
	_, err := c.ClientCredentials(context.Background(), authority.ClientCredentialsRequest{})
	require.NoError(t, err)
	assert.Equal(t, 2, a.DiscoveryCount())
}

func TestDiscoveryRefusals(t *testing.T) {
	tests := []struct {
		name     string
		doc      string
		ctype    string
		wantText string
	}{
		{name: "issuer mismatch", doc: `{"issuer":"https://evil.example","token_endpoint":"https://evil.example/token"}`, wantText: "does not match"},
		{name: "no token endpoint", doc: `{"issuer":"ISSUER"}`, wantText: "no token_endpoint"},
		{name: "token endpoint not http", doc: `{"issuer":"ISSUER","token_endpoint":"ftp://x/token"}`, wantText: "scheme"},
		{name: "not JSON", doc: `<html></html>`, ctype: "text/html", wantText: "not JSON"},
		{name: "broken JSON", doc: `{"issuer":`, wantText: "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var srv *httptest.Server
			srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if tt.ctype != "" {
					w.Header().Set("Content-Type", tt.ctype)
				}
				_, _ = w.Write([]byte(replaceIssuer(tt.doc, srv.URL)))
			}))
			t.Cleanup(srv.Close)
			c, err := authority.New(authority.Config{Issuer: srv.URL, ClientID: "x", ClientSecret: "y", HTTPClient: srv.Client()})
			require.NoError(t, err)
			_, err = c.ClientCredentials(context.Background(), authority.ClientCredentialsRequest{})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantText)
			assert.False(t, authority.IsTemporary(err))
			assert.True(t, authority.IsPermanent(err))
		})
	}
}

func replaceIssuer(doc, issuer string) string {
	out := []byte{}
	for i := 0; i < len(doc); i++ {
		if i+6 <= len(doc) && doc[i:i+6] == "ISSUER" {
			out = append(out, issuer...)
			i += 5
			continue
		}
		out = append(out, doc[i])
	}
	return string(out)
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  authority.Config
	}{
		{name: "no client id", cfg: authority.Config{TokenURL: "https://as/token"}},
		{name: "no endpoint", cfg: authority.Config{ClientID: "x"}},
		{name: "relative token url", cfg: authority.Config{ClientID: "x", TokenURL: "/token"}},
		{name: "credentials in url", cfg: authority.Config{ClientID: "x", TokenURL: "https://u:p@as/token"}},
		{name: "bad scheme", cfg: authority.Config{ClientID: "x", Issuer: "ftp://as"}},
		{name: "basic without secret", cfg: authority.Config{ClientID: "x", TokenURL: "https://as/token", AuthMethod: authority.AuthClientSecretBasic}},
		{name: "jwt without key", cfg: authority.Config{ClientID: "x", TokenURL: "https://as/token", AuthMethod: authority.AuthPrivateKeyJWT}},
		{name: "unknown method", cfg: authority.Config{ClientID: "x", TokenURL: "https://as/token", AuthMethod: "tls_client_auth"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := authority.New(tt.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "authority: ")
		})
	}
}

func TestDiscoveryRefusesPlainHTTPTokenEndpointForHTTPSIssuer(t *testing.T) {
	var srv *httptest.Server
	srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"issuer":"` + srv.URL + `","token_endpoint":"http://` + srv.Listener.Addr().String() + `/token"}`))
	}))
	t.Cleanup(srv.Close)
	c, err := authority.New(authority.Config{Issuer: srv.URL, ClientID: "x", ClientSecret: "y", HTTPClient: srv.Client()})
	require.NoError(t, err)
	_, err = c.Metadata(context.Background())
	require.ErrorContains(t, err, "token_endpoint must use https when the issuer does")
	assert.True(t, authority.IsPermanent(err))
}

// TestDiscover checks the exported discovery that the JWT validator shares
// with the client: it needs no token endpoint, and checks every endpoint
// that is present.
func TestDiscover(t *testing.T) {
	a := newAuthority(t, testutil.Options{})
	meta, err := authority.Discover(context.Background(), a.Client(), a.Issuer())
	require.NoError(t, err)
	assert.Equal(t, a.Issuer(), meta.Issuer)
	assert.Equal(t, a.JWKSURL(), meta.JWKSURI)

	serve := func(doc string) string {
		var srv *httptest.Server
		srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/.well-known/openid-configuration" {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(strings.ReplaceAll(doc, "ISSUER", srv.URL)))
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	tests := []struct {
		name, doc, want string
	}{
		{"jwks only", `{"issuer":"ISSUER","jwks_uri":"ISSUER/keys"}`, ""},
		{"jwks_uri with credentials", `{"issuer":"ISSUER","jwks_uri":"http://u:p@example.com/keys"}`, "jwks_uri: credentials in the URL are not allowed"},
		{"introspection not a URL scheme", `{"issuer":"ISSUER","introspection_endpoint":"ftp://example.com/i"}`, "introspection_endpoint: scheme must be https or http"},
		{"issuer mismatch", `{"issuer":"https://other.example","jwks_uri":"ISSUER/keys"}`, "does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			issuer := serve(tt.doc)
			meta, err := authority.Discover(context.Background(), nil, issuer)
			if tt.want == "" {
				require.NoError(t, err)
				assert.Equal(t, issuer+"/keys", meta.JWKSURI)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.False(t, authority.IsTemporary(err))
		})
	}

	_, err = authority.Discover(context.Background(), nil, "https://as.example/?tenant=1")
	assert.ErrorContains(t, err, "a query is not allowed")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = authority.Discover(ctx, a.Client(), a.Issuer())
	assert.ErrorIs(t, err, context.Canceled)
}
