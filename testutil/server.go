package testutil

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

// Authority is an in-process OAuth 2.0 authorization server backed by an
// [httptest.Server]. Create one with [NewAuthority]. It is safe for
// concurrent use.
type Authority struct {
	// URL is the base URL of the server, with no trailing slash. It is also
	// the issuer (iss) of every token.
	URL string

	opts      Options
	srv       *httptest.Server
	done      chan struct{} // closed by Close; ends fault delays
	closeOnce sync.Once

	mu sync.Mutex // guards every field below
	// keys are the published signing keys, oldest first; active signs.
	keys   []*signingKey
	active *signingKey
	pubSet jwk.Set // verification snapshot of keys, replaced on change
	// registrations
	clients   map[string]*registeredClient
	users     map[string]string
	audiences map[string]bool
	sessions  map[string]*session
	refresh   map[string]*refreshGrant
	jtis      map[string]time.Time // client assertion jti -> its exp
	// faults waiting to be served, FIFO
	tokenFaults     []Fault
	discoveryFaults []Fault
	// counters and log
	counts       map[string]int
	issued       map[string]int
	exchanges    map[string]int
	discovery    int
	faultsServed int
	log          []TokenRequest
	// introspection and revocation (introspect.go, revoke.go, opaque.go)
	opaque             map[[32]byte]jwt.Token // opaque tokens by SHA-256, with their claims
	revoked            map[string]bool        // jti of revoked tokens
	introspectFaults   []Fault
	introspections     map[string]int // by the authenticated client ID ("" if none)
	introspectionTotal int
	revocations        int
}

// NewAuthority starts an authorization server with one signing key, on
// plain HTTP (not TLS) on the loopback interface. If tb is not nil,
// tb.Cleanup closes the server. It panics if the signing key
// cannot be generated or opts.Algorithm is not RS256 or ES256.
func NewAuthority(tb testing.TB, opts Options) *Authority {
	if tb != nil {
		tb.Helper()
	}
	opts = opts.withDefaults()
	k, err := newSigningKey(opts.Algorithm)
	if err != nil {
		panic(err)
	}
	a := &Authority{
		opts:      opts,
		done:      make(chan struct{}),
		keys:      []*signingKey{k},
		active:    k,
		clients:   map[string]*registeredClient{},
		users:     map[string]string{},
		audiences: map[string]bool{},
		sessions:  map[string]*session{},
		refresh:   map[string]*refreshGrant{},
		jtis:      map[string]time.Time{},
		counts:    map[string]int{},
		issued:    map[string]int{},
		exchanges: map[string]int{},

		opaque:         map[[32]byte]jwt.Token{},
		revoked:        map[string]bool{},
		introspections: map[string]int{},
	}
	a.rebuildPublicSetLocked()

	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/oauth-authorization-server", a.serveDiscovery)
	mux.HandleFunc("/.well-known/openid-configuration", a.serveDiscovery)
	mux.HandleFunc("/jwks", a.serveJWKS)
	mux.HandleFunc("/token", a.serveToken)
	mux.HandleFunc("/introspect", a.serveIntrospect)
	mux.HandleFunc("/revoke", a.serveRevoke)
	a.srv = httptest.NewServer(mux)
	a.URL = a.srv.URL
	if t, ok := a.srv.Client().Transport.(*http.Transport); ok {
		// Tests run thousands of parallel requests: keep connections.
		t.MaxIdleConnsPerHost = 512
	}
	if tb != nil {
		tb.Cleanup(a.Close)
	}
	return a
}

// Close shuts the server down and waits for outstanding requests. Delayed
// fault responses end at once. Close may be called more than once.
func (a *Authority) Close() {
	a.closeOnce.Do(func() {
		close(a.done)
		a.srv.Close()
	})
}

// Client returns an HTTP client configured for the server (the
// httptest.Server client).
func (a *Authority) Client() *http.Client { return a.srv.Client() }

// Issuer returns the issuer identifier, equal to URL.
func (a *Authority) Issuer() string { return a.URL }

// TokenURL returns the token endpoint, URL + "/token".
func (a *Authority) TokenURL() string { return a.URL + "/token" }

// JWKSURL returns the JWK Set endpoint, URL + "/jwks".
func (a *Authority) JWKSURL() string { return a.URL + "/jwks" }

// DiscoveryURL returns the RFC 8414 metadata URL,
// URL + "/.well-known/oauth-authorization-server".
func (a *Authority) DiscoveryURL() string {
	return a.URL + "/.well-known/oauth-authorization-server"
}

func (a *Authority) now() time.Time { return a.opts.Now() }

func (a *Authority) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.discovery++
	f, faulted := popFault(&a.discoveryFaults)
	a.mu.Unlock()
	if faulted && a.serveFault(w, r, f) {
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeOAuthError(w, errorf(http.StatusMethodNotAllowed, "invalid_request", "discovery documents accept GET only"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                   a.Issuer(),
		"token_endpoint":           a.TokenURL(),
		"jwks_uri":                 a.JWKSURL(),
		"grant_types_supported":    []string{GrantClientCredentials, GrantPassword, GrantRefreshToken, GrantTokenExchange},
		"response_types_supported": []string{"token"},
		"token_endpoint_auth_methods_supported": []string{
			AuthClientSecretBasic, AuthClientSecretPost, AuthPrivateKeyJWT, AuthNone,
		},
		"token_endpoint_auth_signing_alg_values_supported": []string{
			"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
		},
		"id_token_signing_alg_values_supported": []string{string(a.opts.Algorithm)},
		"subject_types_supported":               []string{"public"},
		"introspection_endpoint":                a.IntrospectionURL(),
		"revocation_endpoint":                   a.RevocationURL(),
		"introspection_endpoint_auth_methods_supported": []string{
			AuthClientSecretBasic, AuthClientSecretPost, AuthPrivateKeyJWT,
		},
		"revocation_endpoint_auth_methods_supported": []string{
			AuthClientSecretBasic, AuthClientSecretPost, AuthPrivateKeyJWT,
		},
	})
}

func (a *Authority) serveJWKS(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeOAuthError(w, errorf(http.StatusMethodNotAllowed, "invalid_request", "the JWKS accepts GET only"))
		return
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	body, err := json.Marshal(a.verifySet())
	if err != nil {
		http.Error(w, "testutil: encode JWKS", http.StatusInternalServerError)
		return
	}
	_, _ = w.Write(body)
}

// randomID returns n random bytes, hex-encoded.
func randomID(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("testutil: crypto/rand: " + err.Error())
	}
	return hex.EncodeToString(b)
}
