package testutil

import (
	"crypto/subtle"
	"fmt"
	"slices"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

// Client is an OAuth client registered with [Authority.AddClient].
type Client struct {
	// ID is the client_id. Required.
	ID string
	// Secret authenticates client_secret_basic and client_secret_post.
	Secret string
	// AuthMethod is how the client authenticates at the token endpoint:
	// "client_secret_basic" (the default when empty), "client_secret_post",
	// "private_key_jwt" or "none" (a public client). The client must use
	// exactly this method.
	AuthMethod string
	// PublicKey verifies private_key_jwt assertions. A private key is
	// accepted; only its public part is kept.
	PublicKey jwk.Key
	// Scopes the client may request. Empty means any scope.
	Scopes []string
	// ExchangeAudiences are the audiences the client may request in token
	// exchange and client credentials grants. They become known audiences
	// of the authority. Empty means any known audience.
	ExchangeAudiences []string
	// TokenLifetime overrides Options.TokenLifetime for tokens issued to
	// this client. Zero means the authority default.
	TokenLifetime time.Duration
	// RequireSubjectAudience makes token exchange check, as Keycloak does,
	// that the client is in the subject token's "aud"; otherwise the
	// exchange is refused with 403 access_denied "Client is not within the
	// token audience".
	RequireSubjectAudience bool
}

// registeredClient is an immutable, validated copy of a Client.
type registeredClient struct {
	Client
	keys jwk.Set // PublicKey as a one-key verification set
}

// AddClient registers c, replacing any client with the same ID. It panics
// on an unknown AuthMethod or a private_key_jwt client without PublicKey.
func (a *Authority) AddClient(c Client) {
	if c.ID == "" {
		panic("testutil: AddClient: empty client ID")
	}
	if c.AuthMethod == "" {
		c.AuthMethod = AuthClientSecretBasic
	}
	rc := &registeredClient{Client: c}
	rc.Scopes = slices.Clone(c.Scopes)
	rc.ExchangeAudiences = slices.Clone(c.ExchangeAudiences)
	switch c.AuthMethod {
	case AuthClientSecretBasic, AuthClientSecretPost, AuthNone:
	case AuthPrivateKeyJWT:
		if c.PublicKey == nil {
			panic("testutil: AddClient: private_key_jwt client " + c.ID + " needs PublicKey")
		}
		pub, err := jwk.PublicKeyOf(c.PublicKey)
		if err != nil {
			panic(fmt.Sprintf("testutil: AddClient: public key of %s: %v", c.ID, err))
		}
		rc.PublicKey = pub
		rc.keys = jwk.NewSet()
		_ = rc.keys.AddKey(pub)
	default:
		panic(fmt.Sprintf("testutil: AddClient: unknown AuthMethod %q", c.AuthMethod))
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.clients[c.ID] = rc
	for _, aud := range c.ExchangeAudiences {
		a.audiences[aud] = true
	}
}

// AddUser registers a resource owner for the password grant, replacing any
// user with the same name.
func (a *Authority) AddUser(username, password string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.users[username] = password
}

// AddAudience registers audiences (resource servers) that token requests
// may name. Every client's ExchangeAudiences are known as well.
func (a *Authority) AddAudience(aud ...string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, s := range aud {
		a.audiences[s] = true
	}
}

func (a *Authority) client(id string) *registeredClient {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.clients[id]
}

func (a *Authority) checkUser(username, password string) bool {
	a.mu.Lock()
	want, ok := a.users[username]
	a.mu.Unlock()
	return ok && subtle.ConstantTimeCompare([]byte(want), []byte(password)) == 1
}

func (a *Authority) knownAudience(aud string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.audiences[aud]
}

func (a *Authority) lifetime(c *registeredClient) time.Duration {
	if c != nil && c.TokenLifetime > 0 {
		return c.TokenLifetime
	}
	return a.opts.TokenLifetime
}
