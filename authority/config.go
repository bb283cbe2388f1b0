package authority

import (
	"fmt"
	"net/http"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

// AuthMethod is how a client authenticates at the token endpoint, named as in
// the token_endpoint_auth_methods_supported of RFC 8414.
type AuthMethod string

// Client authentication methods.
const (
	// AuthClientSecretBasic sends id and secret in HTTP Basic, each
	// form-encoded first (RFC 6749 §2.3.1).
	AuthClientSecretBasic AuthMethod = "client_secret_basic"
	// AuthClientSecretPost sends client_id and client_secret in the body.
	AuthClientSecretPost AuthMethod = "client_secret_post"
	// AuthPrivateKeyJWT sends a JWT assertion signed with the client's
	// private key (RFC 7523 §2.2, OpenID Connect Core §9).
	AuthPrivateKeyJWT AuthMethod = "private_key_jwt"
	// AuthNone is a public client: client_id in the body, no secret.
	AuthNone AuthMethod = "none"
)

// Config describes one client registered at one authorization server.
//
// Printing a Config never shows ClientSecret or PrivateKey.
type Config struct {
	// Issuer is the authorization server's issuer identifier. When TokenURL
	// is empty the token endpoint is found by discovery from it: RFC 8414
	// (/.well-known/oauth-authorization-server), then OpenID Connect
	// (/.well-known/openid-configuration). The document is fetched once
	// and its "issuer" must equal Issuer exactly.
	Issuer string
	// TokenURL is the token endpoint. When set, no discovery is made.
	TokenURL string
	// ClientID is required.
	ClientID string
	// ClientSecret is the secret for client_secret_basic and
	// client_secret_post.
	ClientSecret string
	// PrivateKey signs private_key_jwt assertions. Its "alg" is used when
	// set; otherwise RS256 for RSA keys, ES256/ES384/ES512 by curve for EC
	// keys and EdDSA for Ed25519 keys. Its "kid" goes in the header.
	PrivateKey jwk.Key
	// AuthMethod selects client authentication. If empty: private_key_jwt
	// when PrivateKey is set, client_secret_basic (or client_secret_post
	// when discovery says only that is supported) when ClientSecret is
	// set, none otherwise.
	AuthMethod AuthMethod
	// HTTPClient sends the requests. If nil, a client with a 30 second
	// timeout over http.DefaultTransport is used. Every call also honours
	// its context. Redirects are never followed, whatever the client's
	// CheckRedirect says: a token request carries credentials, so a 3xx
	// reply is an [*Error].
	HTTPClient *http.Client
	// DefaultLifetime is the lifetime given to a token whose response
	// carries no expires_in. Default 60 seconds.
	DefaultLifetime time.Duration
	// AssertionLifetime is the lifetime of a private_key_jwt assertion.
	// Default 60 seconds.
	AssertionLifetime time.Duration
	// Now is the clock. If nil, time.Now.
	Now func() time.Time
}

// String describes the configuration without its secrets.
func (c Config) String() string {
	return fmt.Sprintf("authority.Config{Issuer:%q TokenURL:%q ClientID:%q ClientSecret:%s PrivateKey:%s AuthMethod:%q}",
		c.Issuer, c.TokenURL, c.ClientID, redacted(c.ClientSecret), redactedKey(c.PrivateKey), c.AuthMethod)
}

// GoString is String: %#v must not print secrets either.
func (c Config) GoString() string { return c.String() }

// Format prints String for every verb.
func (c Config) Format(f fmt.State, verb rune) { formatRedacted(f, verb, c.String()) }

func redactedKey(k jwk.Key) string {
	if k == nil {
		return "none"
	}
	return "[redacted]"
}

// Defaults used when a Config leaves a field zero.
const (
	defaultLifetime          = 60 * time.Second
	defaultAssertionLifetime = 60 * time.Second
	defaultHTTPTimeout       = 30 * time.Second
)
