package authority

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Client talks to one authorization server as one registered client. It is
// safe for concurrent use. Create it with [New].
type Client struct {
	cfg        Config
	httpClient *http.Client
	now        func() time.Time
	identity   string
	assertions *jwsKey // signs private_key_jwt assertions; nil without a Signer
	tel        telemetry

	// discovering is a one-slot semaphore held while discovery runs, so
	// that one goroutine fetches and the others wait on their own context.
	discovering chan struct{}
	mu          sync.Mutex // guards endpoint
	endpoint    *endpoint  // nil until resolved
}

// endpoint is what a Client needs to call the token endpoint, resolved once.
type endpoint struct {
	meta   Metadata
	method AuthMethod
	host   string // the token endpoint's host, for server.address
}

// New validates cfg and returns a Client. It makes no request: discovery
// runs on first use, or call [Client.Metadata] to run it eagerly.
//
// Errors: New returns an error that names the Config field at fault (never
// an [*Error], and never its secret): no ClientID, neither Issuer nor
// TokenURL, an Issuer, TokenURL or IntrospectionURL that is not an http(s) URL without
// credentials or fragment, an unknown AuthMethod, a method without its
// credential (ClientSecret, Signer), KeyID, Certificate or
// SigningAlgorithm without a Signer, or a Signer that cannot sign
// assertions ("authority: Config.Signer: ...": an RSA key under 2048
// bits, an unsupported key type or curve, a SigningAlgorithm that does
// not suit the key, a Certificate of another key, a probe signature that
// fails or does not verify).
func New(cfg Config) (*Client, error) {
	if cfg.ClientID == "" {
		return nil, errors.New("authority: Config.ClientID is required")
	}
	if cfg.Issuer == "" && cfg.TokenURL == "" {
		return nil, errors.New("authority: Config needs Issuer or TokenURL")
	}
	for name, raw := range map[string]string{"Issuer": cfg.Issuer, "TokenURL": cfg.TokenURL, "IntrospectionURL": cfg.IntrospectionURL} {
		if raw == "" {
			continue
		}
		if err := checkEndpointURL(raw); err != nil {
			return nil, fmt.Errorf("authority: Config.%s: %w", name, err)
		}
	}
	c := &Client{
		cfg:         cfg,
		httpClient:  cfg.HTTPClient,
		now:         cfg.Now,
		discovering: make(chan struct{}, 1),
	}
	// Redirects are not followed: a token request carries credentials,
	// and a redirect would replay them to wherever it points.
	hc := http.Client{Timeout: defaultHTTPTimeout}
	if cfg.HTTPClient != nil {
		hc = *cfg.HTTPClient
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.httpClient = &hc
	if c.now == nil {
		c.now = time.Now
	}
	if c.cfg.DefaultLifetime <= 0 {
		c.cfg.DefaultLifetime = defaultLifetime
	}
	if c.cfg.AssertionLifetime <= 0 {
		c.cfg.AssertionLifetime = defaultAssertionLifetime
	}
	switch cfg.AuthMethod {
	case "", AuthNone:
	case AuthClientSecretBasic, AuthClientSecretPost:
		if cfg.ClientSecret == "" {
			return nil, fmt.Errorf("authority: %s needs Config.ClientSecret", cfg.AuthMethod)
		}
	case AuthPrivateKeyJWT:
		if cfg.Signer == nil {
			return nil, errors.New("authority: private_key_jwt needs Config.Signer")
		}
	default:
		return nil, fmt.Errorf("authority: unknown Config.AuthMethod %q", cfg.AuthMethod)
	}
	switch {
	case cfg.Signer != nil:
		k, err := newJWSKey(cfg.Signer, cfg.SigningAlgorithm, cfg.KeyID, cfg.Certificate)
		if err != nil {
			return nil, fmt.Errorf("authority: Config.Signer: %w", err)
		}
		c.assertions = k
	case cfg.KeyID != "" || cfg.Certificate != nil || cfg.SigningAlgorithm != "":
		return nil, errors.New("authority: Config.KeyID, Certificate and SigningAlgorithm need Config.Signer")
	}
	c.identity = fmt.Sprintf("%d:%s%d:%s%d:%s", len(cfg.Issuer), cfg.Issuer, len(cfg.TokenURL), cfg.TokenURL, len(cfg.ClientID), cfg.ClientID)
	if cfg.TokenURL != "" {
		c.endpoint = &endpoint{
			meta:   Metadata{Issuer: cfg.Issuer, TokenEndpoint: cfg.TokenURL},
			method: chooseAuthMethod(cfg, nil),
			host:   hostOf(cfg.TokenURL),
		}
	}
	c.tel = newTelemetry(cfg)
	return c, nil
}

// Identity names the authorization server (issuer and token endpoint as
// configured) and the client: two Clients with the same Identity obtain
// tokens from the same place under the same name.
// Caches use it as part of their key.
func (c *Client) Identity() string { return c.identity }

// Issuer returns the configured issuer identifier, "" when the Client was
// configured with TokenURL alone.
func (c *Client) Issuer() string { return c.cfg.Issuer }

// ClientID returns the configured client identifier.
func (c *Client) ClientID() string { return c.cfg.ClientID }

func checkEndpointURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a URL")
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return fmt.Errorf("scheme must be https or http, not %q", u.Scheme)
	}
	if u.Host == "" {
		return errors.New("no host")
	}
	if u.User != nil {
		return errors.New("credentials in the URL are not allowed")
	}
	if u.Fragment != "" {
		return errors.New("a fragment is not allowed")
	}
	return nil
}

// chooseAuthMethod picks client authentication from the configuration and,
// when discovery ran, the methods the server supports.
func chooseAuthMethod(cfg Config, supported []string) AuthMethod {
	if cfg.AuthMethod != "" {
		return cfg.AuthMethod
	}
	has := func(m AuthMethod) bool {
		if len(supported) == 0 {
			// RFC 8414 §2: the default is client_secret_basic.
			return m == AuthClientSecretBasic
		}
		for _, s := range supported {
			if s == string(m) {
				return true
			}
		}
		return false
	}
	switch {
	case cfg.Signer != nil && (has(AuthPrivateKeyJWT) || len(supported) == 0):
		return AuthPrivateKeyJWT
	case cfg.ClientSecret != "" && has(AuthClientSecretBasic):
		return AuthClientSecretBasic
	case cfg.ClientSecret != "" && has(AuthClientSecretPost):
		return AuthClientSecretPost
	case cfg.ClientSecret != "":
		return AuthClientSecretBasic
	case cfg.Signer != nil:
		return AuthPrivateKeyJWT
	}
	return AuthNone
}
