package authority

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// Client talks to one authorization server as one registered client. It is
// safe for concurrent use. Create it with [New].
type Client struct {
	cfg        Config
	httpClient *http.Client
	now        func() time.Time
	identity   string
	signingAlg jwa.SignatureAlgorithm // for private_key_jwt

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
}

// New validates cfg and returns a Client. It makes no request: discovery
// runs on first use, or call [Client.Metadata] to run it eagerly.
func New(cfg Config) (*Client, error) {
	if cfg.ClientID == "" {
		return nil, errors.New("authority: Config.ClientID is required")
	}
	if cfg.Issuer == "" && cfg.TokenURL == "" {
		return nil, errors.New("authority: Config needs Issuer or TokenURL")
	}
	for name, raw := range map[string]string{"Issuer": cfg.Issuer, "TokenURL": cfg.TokenURL} {
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
		if cfg.PrivateKey == nil {
			return nil, errors.New("authority: private_key_jwt needs Config.PrivateKey")
		}
	default:
		return nil, fmt.Errorf("authority: unknown Config.AuthMethod %q", cfg.AuthMethod)
	}
	if cfg.PrivateKey != nil {
		alg, err := signingAlgorithm(cfg.PrivateKey)
		if err != nil {
			return nil, err
		}
		c.signingAlg = alg
	}
	c.identity = fmt.Sprintf("%d:%s%d:%s%d:%s", len(cfg.Issuer), cfg.Issuer, len(cfg.TokenURL), cfg.TokenURL, len(cfg.ClientID), cfg.ClientID)
	if cfg.TokenURL != "" {
		c.endpoint = &endpoint{
			meta:   Metadata{Issuer: cfg.Issuer, TokenEndpoint: cfg.TokenURL},
			method: chooseAuthMethod(cfg, nil),
		}
	}
	return c, nil
}

// Identity names the authorization server (issuer and token endpoint as
// configured) and the client: two Clients with the same Identity obtain
// tokens from the same place under the same name.
// Caches use it as part of their key.
func (c *Client) Identity() string { return c.identity }

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
	case cfg.PrivateKey != nil && (has(AuthPrivateKeyJWT) || len(supported) == 0):
		return AuthPrivateKeyJWT
	case cfg.ClientSecret != "" && has(AuthClientSecretBasic):
		return AuthClientSecretBasic
	case cfg.ClientSecret != "" && has(AuthClientSecretPost):
		return AuthClientSecretPost
	case cfg.ClientSecret != "":
		return AuthClientSecretBasic
	case cfg.PrivateKey != nil:
		return AuthPrivateKeyJWT
	}
	return AuthNone
}

// minRSABits is the smallest RSA key accepted for private_key_jwt.
const minRSABits = 2048

// signingAlgorithm checks that k can sign client assertions and returns
// the algorithm to sign them with: k's own "alg" when it has one (which
// must suit the key's type and curve), otherwise the algorithm its type and
// curve imply. It signs a probe, so that a key that cannot sign (a point
// off its curve, a malformed RSA key) fails here, at construction, rather
// than on every token request.
func signingAlgorithm(k jwk.Key) (jwa.SignatureAlgorithm, error) {
	private, err := jwk.IsPrivateKey(k)
	if err != nil || !private {
		return "", errors.New("authority: Config.PrivateKey must be a private RSA, EC or OKP key")
	}
	if use := k.KeyUsage(); use != "" && use != string(jwk.ForSignature) {
		return "", fmt.Errorf("authority: Config.PrivateKey is for %q, not for signatures", use)
	}
	implied, err := impliedAlgorithm(k)
	if err != nil {
		return "", err
	}
	alg := implied
	if a := k.Algorithm(); a != nil && a.String() != "" {
		if err := alg.Accept(a.String()); err != nil || alg == jwa.NoSignature || !algorithmFits(alg, implied) {
			return "", fmt.Errorf("authority: Config.PrivateKey's alg %q does not suit the key", a.String())
		}
	}
	if _, err := jws.Sign([]byte("probe"), jws.WithKey(alg, k)); err != nil {
		return "", errors.New("authority: Config.PrivateKey cannot sign")
	}
	return alg, nil
}

// impliedAlgorithm is the signature algorithm a key's type and curve
// imply; it refuses RSA keys under minRSABits.
func impliedAlgorithm(k jwk.Key) (jwa.SignatureAlgorithm, error) {
	switch key := k.(type) {
	case jwk.RSAPrivateKey:
		if bits := len(key.N()) * 8; bits < minRSABits {
			return "", fmt.Errorf("authority: Config.PrivateKey is a %d-bit RSA key; at least %d bits are required", bits, minRSABits)
		}
		return jwa.RS256, nil
	case jwk.ECDSAPrivateKey:
		switch key.Crv() {
		case jwa.P256:
			return jwa.ES256, nil
		case jwa.P384:
			return jwa.ES384, nil
		case jwa.P521:
			return jwa.ES512, nil
		}
	case jwk.OKPPrivateKey:
		if key.Crv() == jwa.Ed25519 {
			return jwa.EdDSA, nil
		}
	}
	return "", errors.New("authority: Config.PrivateKey must be RSA, EC P-256/P-384/P-521 or Ed25519")
}

// algorithmFits reports whether alg may sign with a key whose type and
// curve imply implied: any RS or PS algorithm for RSA, exactly the
// implied one for EC and Ed25519.
func algorithmFits(alg, implied jwa.SignatureAlgorithm) bool {
	if implied == jwa.RS256 {
		switch alg {
		case jwa.RS256, jwa.RS384, jwa.RS512, jwa.PS256, jwa.PS384, jwa.PS512:
			return true
		}
		return false
	}
	return alg == implied
}
