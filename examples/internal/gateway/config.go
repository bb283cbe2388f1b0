package gateway

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/go-tokenexchange/tokenexchange/exchange"
)

// DefaultListen is the gateway's listen address unless Config.Listen says
// otherwise: loopback only, reachable from the same host. In a container
// (or behind a load balancer on another host) give -listen :8080, all
// interfaces, or TX_LISTEN=:8080.
const DefaultListen = "127.0.0.1:8080"

// Config is everything a gateway needs. The zero Config (with Listen set)
// runs the embedded demo.
type Config struct {
	// Listen is the TCP address to serve on. Default [DefaultListen],
	// loopback only; ":8080" serves on all interfaces, as a container
	// needs.
	Listen string
	// Issuer is the authorization server's issuer: its token endpoint is
	// found by discovery when TokenURL is empty, and inbound tokens must
	// carry it as "iss". Empty Issuer and TokenURL run the embedded demo.
	Issuer string
	// TokenURL is the token endpoint; when set, no discovery is made.
	TokenURL string
	// ClientID and ClientSecret authenticate the gateway at the authority.
	ClientID, ClientSecret string
	// ClientKey is the gateway's private key for private_key_jwt client
	// authentication (Keycloak's "Signed JWT" clients): RSA, EC or
	// Ed25519. [ParseFlags] reads it from the -client-key file. Printing
	// a Config shows neither this key nor ClientSecret.
	ClientKey crypto.Signer
	// ClientKeyID is the "kid" sent with ClientKey's assertions: the
	// -client-key-id flag, or the kid of a JWK file.
	ClientKeyID string
	// ClientKeyAlgorithm, when set, is the JWS algorithm ClientKey signs
	// with (a JWK file's "alg"); empty means the one the key implies.
	ClientKeyAlgorithm string
	// ClientCert is the certificate registered for ClientKey at the
	// authority, sent as x5t#S256 (Entra ID requires it): the -client-cert
	// file.
	ClientCert *x509.Certificate
	// AuthMethod is the client authentication method: client_secret_basic,
	// client_secret_post, private_key_jwt (needs ClientKey) or none; empty
	// means the authority package's default: private_key_jwt when
	// ClientKey is set (unless discovery says the authority does not
	// support it and ClientSecret is set), else a client secret method
	// when ClientSecret is set, else none.
	AuthMethod string
	// JWKSURL, when set, turns inbound validation on: tokens must be JWTs
	// signed by a key of this set, issued by Issuer for Audiences.
	JWKSURL string
	// InsecureSkipValidation allows passthrough, client and none routes
	// without validation (JWKSURL or introspection). Without validation the gateway accepts any
	// well-formed bearer string, and on those routes nothing else checks
	// it: a caller with a made-up token reaches them (with the gateway's
	// own identity on client routes). Exchange routes need no such
	// permission: the authority refuses a bad subject token.
	InsecureSkipValidation bool
	// Audiences are the inbound "aud" values accepted. Default ClientID.
	// ProtectedResource is accepted too.
	Audiences []string
	// ProtectedResource, when set, is the gateway's RFC 9728 resource
	// identifier (an https URL; http only on a loopback host): the
	// gateway serves its metadata at the RFC 9728 well-known path (see
	// [Gateway.ProtectedResource]), names that URL as resource_metadata
	// in its 401 and 403 challenges, and accepts it as an inbound
	// audience (RFC 8707: clients ask for tokens for this resource). It
	// needs Issuer, the authorization server the document names.
	ProtectedResource string
	// IntrospectionURL, when set, turns inbound validation by RFC 7662
	// token introspection on, at this endpoint, with the gateway's client
	// authentication: answers must be active, issued by Issuer for one of
	// the inbound audiences. With JWKSURL too, JWT-shaped tokens are
	// verified with the keys and the others introspected.
	IntrospectionURL string
	// Introspect turns introspection on at the endpoint that discovery
	// from Issuer names ("introspection_endpoint"); it needs Issuer and
	// no TokenURL (which turns discovery off), unless IntrospectionURL is
	// set.
	Introspect bool
	// IntrospectionMaxAge is the longest an active introspection answer
	// is reused for the same token, and so the longest a revoked token
	// keeps passing. Zero means introspect.DefaultMaxAge (30s).
	IntrospectionMaxAge time.Duration
	// SubjectTokenType is the type of the inbound tokens exchanged.
	// Default the access token type. Not with DialectEntraOBO.
	SubjectTokenType string
	// Dialect is how the gateway's client exchanges tokens on every
	// exchange route: exchange.DialectRFC8693 (the default) or
	// exchange.DialectEntraOBO, Microsoft Entra ID's On-Behalf-Of, whose
	// routes need a scope (api://APP/.default) and take no audience,
	// resource or actor. The -dialect flag.
	Dialect exchange.Dialect
	// Routes is the route table, one route per service.
	Routes []Route
	// Walkthrough runs the demo walkthrough (embedded mode only).
	Walkthrough bool
	// LogLevel is the minimum level that [Main] logs. Inbound refusals are
	// logged at Debug.
	LogLevel slog.Level

	// IdleTimeout closes a keep-alive connection that has waited this
	// long for its next request, so that idle clients cannot hold the
	// gateway's connections (and file descriptors) forever. Zero means
	// [DefaultIdleTimeout].
	IdleTimeout time.Duration
	// ReadTimeout bounds the reading of a whole request, headers and
	// body: a body trickled in slowly is cut when it runs out. Zero means
	// [DefaultReadTimeout].
	ReadTimeout time.Duration
	// WriteTimeout bounds the writing of a response, from the end of
	// the request's headers. Zero, the default, means no bound: a
	// streaming downstream's answer may last as long as it needs.
	WriteTimeout time.Duration
	// MaxConns is the most connections the gateway serves at once.
	// Beyond it, new connections wait in the kernel's accept queue until
	// one closes (idle ones close after IdleTimeout). Zero means
	// [DefaultMaxConns].
	MaxConns int
	// ShutdownTimeout bounds the graceful shutdown once Run's context
	// ends: requests still running then are cut. Zero means
	// [DefaultShutdownTimeout].
	ShutdownTimeout time.Duration
	// DownstreamTimeout bounds the wait for a downstream's response
	// headers (its body, which may stream, is not bounded), so that a
	// downstream that never answers does not hold the caller's
	// connection for as long as the caller waits. It applies when Base
	// is nil. Zero means [DefaultDownstreamTimeout].
	DownstreamTimeout time.Duration

	// RedisURL, when set, is the Redis (or Valkey) server that the
	// replicas of the gateway share: exchanged tokens (encrypted with
	// CacheKeys) and the refusal windows of the outbound transport, under
	// the namespace "tokenexchange:". redis://[user:password@]host:port/db,
	// or rediss:// for TLS. Redis trouble never stops the gateway: each
	// replica then works on its own. It needs CacheKeys. Printing a Config
	// shows neither its credentials nor the keys.
	RedisURL string
	// CacheKeys are the AES-256 keys (CacheKeySize bytes each) of the
	// values in Redis: the first encrypts, any decrypts, so a key is
	// rotated by giving every replica [new, old], then, once the longest
	// token lifetime has passed, [new].
	CacheKeys [][]byte
	// RedisTimeout bounds each Redis call (cache and refusal windows):
	// Redis slower than this counts as a miss, and the replica works on
	// its own. Zero means rediscache.DefaultOpTimeout (50ms).
	RedisTimeout time.Duration

	// HTTPClient talks to the authority (token endpoint, discovery,
	// JWKS). If nil, the packages' defaults are used.
	HTTPClient *http.Client
	// Base sends the requests to downstream services. If nil, a clone of
	// http.DefaultTransport with larger idle pools.
	Base http.RoundTripper

	// TracerProvider receives the spans of every component: requests to
	// the authority, exchanges, key set fetches. If nil,
	// otel.GetTracerProvider(), a no-op until the program installs one.
	// (Metrics need no option: each gateway has a MeterProvider of its
	// own, served at /metrics.)
	TracerProvider trace.TracerProvider
	// Propagator writes the span context into the gateway's requests to
	// the authority. If nil, otel.GetTextMapPropagator(), which writes
	// nothing until the program installs one.
	Propagator propagation.TextMapPropagator
}

// Embedded reports whether c names no authority, so that the embedded
// demo provides one.
func (c Config) Embedded() bool { return c.Issuer == "" && c.TokenURL == "" }

// Validate checks c for a gateway in front of a real authority, or for
// the embedded demo when c.Embedded.
func (c Config) Validate() error {
	if err := checkListen(c.Listen); err != nil {
		return fmt.Errorf("-listen: %w", err)
	}
	if err := c.checkServerLimits(); err != nil {
		return err
	}
	if err := c.checkRedis(); err != nil {
		return err
	}
	if err := c.checkDialect(); err != nil {
		return err
	}
	if err := c.checkProtectedResource(); err != nil {
		return err
	}
	if c.Embedded() {
		switch {
		case c.InsecureSkipValidation:
			return errors.New("-insecure-skip-validation needs -issuer or -token-url (the embedded demo always validates)")
		case c.ClientID != "" || c.ClientSecret != "" || c.ClientKey != nil || c.ClientCert != nil || c.AuthMethod != "":
			return errors.New("-client-id, -client-secret, -client-key, -client-cert and -auth-method need -issuer or -token-url")
		case c.JWKSURL != "" || len(c.Audiences) > 0:
			return errors.New("-jwks-url and -audience need -issuer or -token-url")
		case c.introspects():
			return errors.New("-introspection-url and -introspect need -issuer")
		case len(c.Routes) > 0:
			return errors.New("-route needs -issuer or -token-url (the embedded demo has its own routes)")
		}
		return nil
	}
	for _, u := range []struct{ flag, v string }{{"issuer", c.Issuer}, {"token-url", c.TokenURL}, {"jwks-url", c.JWKSURL}, {"introspection-url", c.IntrospectionURL}} {
		if err := checkHTTPURL(u.v); err != nil {
			return fmt.Errorf("-%s: %w", u.flag, err)
		}
	}
	if err := checkAuthMethod(c.AuthMethod); err != nil {
		return fmt.Errorf("-auth-method: %w", err)
	}
	if c.ClientKey != nil {
		if err := checkClientKey(c.ClientKey); err != nil {
			return fmt.Errorf("-client-key: %w", err)
		}
	}
	if c.ClientCert != nil {
		pub, ok := c.ClientCert.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
		switch {
		case c.ClientKey == nil:
			return errors.New("-client-cert needs -client-key")
		case !ok || !pub.Equal(c.ClientKey.Public()):
			return errors.New("-client-cert: its public key is not the -client-key's")
		}
	}
	switch {
	case c.ClientID == "":
		return errors.New("-client-id is required with -issuer or -token-url")
	case c.AuthMethod == "private_key_jwt" && c.ClientKey == nil:
		return errors.New("-auth-method private_key_jwt needs -client-key")
	case c.JWKSURL != "" && c.Issuer == "":
		return errors.New("-jwks-url needs -issuer, the iss that inbound tokens must carry")
	case c.JWKSURL != "" && c.InsecureSkipValidation:
		return errors.New("-insecure-skip-validation and -jwks-url contradict each other")
	case c.introspects() && c.InsecureSkipValidation:
		return errors.New("-insecure-skip-validation and introspection contradict each other")
	case len(c.Routes) == 0:
		return errors.New("at least one -route is required with -issuer or -token-url")
	}
	if err := c.checkIntrospection(); err != nil {
		return err
	}
	seen := make(map[string]bool, len(c.Routes))
	for _, r := range c.Routes {
		if seen[r.Service] {
			return fmt.Errorf("-route: service %q given twice", r.Service)
		}
		seen[r.Service] = true
		if !c.validates() && !c.InsecureSkipValidation && r.Mode != ModeExchange && r.Mode != "" {
			return fmt.Errorf("-route %s: mode %s needs -jwks-url or introspection: without validation any bearer string would reach it (-insecure-skip-validation runs it unvalidated anyway)", r.Prefix, r.Mode)
		}
	}
	return nil
}

// unvalidated returns the prefixes of the routes on which nothing checks
// inbound tokens: without validation, those whose mode makes no exchange.
func (c Config) unvalidated() []string {
	if c.validates() {
		return nil
	}
	var prefixes []string
	for _, r := range c.Routes {
		if r.Mode != ModeExchange && r.Mode != "" {
			prefixes = append(prefixes, r.Prefix)
		}
	}
	return prefixes
}

// checkListen accepts "" or host:port with a numeric port 0..65535.
func checkListen(s string) error {
	if s == "" {
		return nil
	}
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q is not host:port", s)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("%q: the port must be a number from 0 to 65535", s)
	}
	return nil
}

// checkAuthMethod accepts "" or a client authentication method the
// gateways offer.
func checkAuthMethod(m string) error {
	switch m {
	case "", "client_secret_basic", "client_secret_post", "private_key_jwt", "none":
		return nil
	}
	return fmt.Errorf("%q: want client_secret_basic, client_secret_post, private_key_jwt or none", m)
}

// checkHTTPURL accepts "" or an absolute http or https URL.
func checkHTTPURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http or https URL", s)
	}
	return nil
}

// inboundAudiences returns the audiences inbound tokens must carry: one
// of Audiences (default ClientID), or ProtectedResource.
func (c Config) inboundAudiences() []string {
	aud := c.Audiences
	if len(aud) == 0 {
		aud = []string{c.ClientID}
	}
	if c.ProtectedResource != "" && !slices.Contains(aud, c.ProtectedResource) {
		aud = append(slices.Clip(aud), c.ProtectedResource)
	}
	return aud
}
