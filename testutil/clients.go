package testutil

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"errors"
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
	// PublicKey verifies private_key_jwt assertions: an *rsa.PublicKey,
	// *ecdsa.PublicKey or ed25519.PublicKey. A private key (any
	// crypto.Signer) is accepted; only its public part is kept. When nil,
	// Certificate's public key is used.
	PublicKey crypto.PublicKey
	// KeyID, when set, is the key's "kid": an assertion that names a kid
	// must name this one. An assertion without a kid is checked against
	// the key all the same.
	KeyID string
	// Certificate, when set, is the client's registered certificate, as
	// Entra ID registers certificate credentials: every assertion must
	// carry its SHA-256 thumbprint in the "x5t#S256" header (RFC 7515
	// §4.1.8), and its public key verifies them.
	Certificate *x509.Certificate
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
	// OpaqueTokens makes every access token issued to this client (by a
	// grant, or by [Authority.IssueToken] with this ClientID) an opaque
	// random string instead of a JWT, as [Authority.IssueOpaqueToken]
	// issues: only introspection tells what it is.
	OpaqueTokens bool
}

// registeredClient is an immutable, validated copy of a Client.
type registeredClient struct {
	Client
	keys    jwk.Set // PublicKey as a one-key verification set
	x5tS256 string  // Certificate's thumbprint; "" without one
}

// AddClient registers c, replacing any client with the same ID. It panics
// on an unknown AuthMethod, a private_key_jwt client without PublicKey or
// Certificate, a key of another type than RSA, EC or Ed25519, or a
// Certificate whose key is not PublicKey.
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
		keys, thumbprint, err := clientKeys(c)
		if err != nil {
			panic(fmt.Sprintf("testutil: AddClient: private_key_jwt client %s: %v", c.ID, err))
		}
		rc.keys, rc.x5tS256 = keys, thumbprint
		if s, ok := rc.PublicKey.(crypto.Signer); ok {
			rc.PublicKey = s.Public() // keep no private key
		}
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

// clientKeys returns the verification set of a private_key_jwt client and
// its certificate's x5t#S256 thumbprint, if it has a certificate.
func clientKeys(c Client) (jwk.Set, string, error) {
	pub := c.PublicKey
	if s, ok := pub.(crypto.Signer); ok {
		pub = s.Public()
	}
	thumbprint := ""
	if c.Certificate != nil {
		if pub == nil {
			pub = c.Certificate.PublicKey
		}
		eq, ok := pub.(interface{ Equal(crypto.PublicKey) bool })
		if !ok || !eq.Equal(c.Certificate.PublicKey) {
			return nil, "", errors.New("the Certificate's key is not PublicKey")
		}
		sum := sha256.Sum256(c.Certificate.Raw)
		thumbprint = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	switch pub.(type) {
	case nil:
		return nil, "", errors.New("needs PublicKey or Certificate")
	case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
	default:
		return nil, "", fmt.Errorf("PublicKey is a %T, want *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey", pub)
	}
	key, err := jwk.FromRaw(pub)
	if err != nil {
		return nil, "", fmt.Errorf("PublicKey: %w", err)
	}
	if c.KeyID != "" {
		if err := key.Set(jwk.KeyIDKey, c.KeyID); err != nil {
			return nil, "", fmt.Errorf("KeyID: %w", err)
		}
	}
	set := jwk.NewSet()
	if err := set.AddKey(key); err != nil {
		return nil, "", err
	}
	return set, thumbprint, nil
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
