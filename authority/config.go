package authority

import (
	"crypto"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
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
// Printing a Config (fmt, log/slog, encoding/json) never shows
// ClientSecret or Signer.
type Config struct {
	// Issuer is the authorization server's issuer identifier. When TokenURL
	// is empty the token endpoint is found by discovery from it: RFC 8414
	// (/.well-known/oauth-authorization-server), then OpenID Connect
	// (/.well-known/openid-configuration). The document is fetched once
	// and its "issuer" must equal Issuer exactly.
	Issuer string
	// TokenURL is the token endpoint. When set, no discovery is made.
	TokenURL string
	// IntrospectionURL is the RFC 7662 token introspection endpoint for
	// [Client.Introspect]. If empty, discovery's "introspection_endpoint"
	// is used (so a Client with TokenURL and no IntrospectionURL cannot
	// introspect: it makes no discovery).
	IntrospectionURL string
	// ClientID is required.
	ClientID string
	// ClientSecret is the secret for client_secret_basic and
	// client_secret_post.
	ClientSecret string
	// Signer signs private_key_jwt client assertions (RFC 7523 §2.2) with
	// the client's private key: an *rsa.PrivateKey (at least 2048 bits),
	// *ecdsa.PrivateKey (P-256, P-384 or P-521), ed25519.PrivateKey, or
	// any crypto.Signer over such a key, such as an HSM or a cloud KMS
	// client. [New] signs and verifies one probe with it, so that a key
	// that cannot sign is refused at construction.
	Signer crypto.Signer
	// KeyID, when set, is sent as the "kid" of the assertion's header,
	// naming the key among those registered for the client.
	KeyID string
	// Certificate, when set, is the certificate registered for the client
	// (its public key must be Signer's). Its SHA-256 thumbprint is sent
	// as the "x5t#S256" header (RFC 7515 §4.1.8), which Microsoft Entra
	// ID requires of certificate credentials.
	Certificate *x509.Certificate
	// SigningAlgorithm signs the assertions. If empty, the key implies
	// it: RS256 for RSA, ES256, ES384 or ES512 by curve for EC, EdDSA
	// for Ed25519. An RSA key may use any RS or PS algorithm; an EC or
	// Ed25519 key only the one it implies.
	SigningAlgorithm SigningAlgorithm
	// AuthMethod selects client authentication. If empty: private_key_jwt
	// when Signer is set, client_secret_basic (or client_secret_post
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
	// MeterProvider receives the client's metrics (requests to the token
	// endpoint by grant and outcome, and those of its [CachedSource]s;
	// see the package documentation). If nil, otel.GetMeterProvider(),
	// a no-op until the application installs one.
	MeterProvider metric.MeterProvider
	// TracerProvider receives a span for each request to the token
	// endpoint, for discovery and for each renewal of a [CachedSource]
	// (see the package documentation). If nil,
	// otel.GetTracerProvider(), a no-op until the application installs
	// one.
	TracerProvider trace.TracerProvider
	// Propagator writes the span context of each token request into its
	// headers (such as W3C traceparent). If nil,
	// otel.GetTextMapPropagator(), which writes nothing until the
	// application installs one.
	Propagator propagation.TextMapPropagator
	// Logger receives what happens in the background, never with a token
	// or a secret: failed renewals of a [CachedSource] and their backoff,
	// rate-limited so that an outage does not flood it. If nil,
	// slog.Default().
	Logger *slog.Logger
}

// String describes the configuration without its secrets: the
// ClientSecret and the Signer show as "[redacted]" (or "none").
func (c Config) String() string {
	return fmt.Sprintf("authority.Config{Issuer:%q TokenURL:%q ClientID:%q ClientSecret:%s Signer:%s KeyID:%q Certificate:%s SigningAlgorithm:%q AuthMethod:%q}",
		c.Issuer, c.TokenURL, c.ClientID, redacted(c.ClientSecret), redactedSigner(c.Signer), c.KeyID, certificateName(c.Certificate), c.SigningAlgorithm, c.AuthMethod)
}

// GoString is String: %#v must not print secrets either.
func (c Config) GoString() string { return c.String() }

// Format prints String for every verb.
func (c Config) Format(f fmt.State, verb rune) { formatRedacted(f, verb, c.String()) }

// redactedSigner says whether there is a signer, never what it holds:
// an HSM client's or a private key's own printing is not trusted.
func redactedSigner(s crypto.Signer) string {
	if s == nil {
		return "none"
	}
	return "[redacted]"
}

// certificateName is the x5t#S256 thumbprint of cert, which is public and
// names it; "none" without one.
func certificateName(cert *x509.Certificate) string {
	if cert == nil {
		return "none"
	}
	return "x5t#S256=" + thumbprint(cert)
}

// Defaults used when a Config leaves a field zero.
const (
	defaultLifetime          = 60 * time.Second
	defaultAssertionLifetime = 60 * time.Second
	defaultHTTPTimeout       = 30 * time.Second
)
