package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/middleware/jwt"
	"github.com/go-tokenexchange/tokenexchange/outbound"
)

// Realm is the realm of the gateway's WWW-Authenticate challenges.
const Realm = "gateway"

// Gateway holds the assembled parts of one gateway: the inbound
// middleware, one reverse proxy per service and an HTTP client for calls
// the gateway makes itself, all over one outbound transport. Mount its
// handlers on any router. It is safe for concurrent use.
type Gateway struct {
	routes    []Route               // in configuration order
	proxies   map[string]routeProxy // by service
	bearer    func(http.Handler) http.Handler
	client    *http.Client // over the outbound transport
	exchanger *exchange.Exchanger
	validator *jwt.Validator // nil when inbound tokens are not validated
	onError   func(http.ResponseWriter, *http.Request, error)
	log       *slog.Logger
}

// discoveryTimeout bounds the discovery that New makes.
const discoveryTimeout = 15 * time.Second

// New checks cfg (see [Config.Validate]) and assembles a gateway from it:
// the authority client, the exchanger, the outbound transport and, when
// cfg.JWKSURL is set, the inbound token validator, whose key set it
// fetches under ctx. Without cfg.TokenURL it runs discovery from
// cfg.Issuer under ctx, so that a wrong issuer fails here rather than on
// every request. Logs go to logger; nil means none.
func New(ctx context.Context, cfg Config, logger *slog.Logger) (*Gateway, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	client, err := authority.New(authority.Config{
		Issuer:           cfg.Issuer,
		TokenURL:         cfg.TokenURL,
		ClientID:         cfg.ClientID,
		ClientSecret:     cfg.ClientSecret,
		Signer:           cfg.ClientKey,
		KeyID:            cfg.ClientKeyID,
		SigningAlgorithm: authority.SigningAlgorithm(cfg.ClientKeyAlgorithm),
		Certificate:      cfg.ClientCert,
		AuthMethod:       authority.AuthMethod(cfg.AuthMethod),
		HTTPClient:       cfg.HTTPClient,
	})
	if err != nil {
		return nil, err
	}
	if cfg.TokenURL == "" {
		dctx, cancel := context.WithTimeout(ctx, discoveryTimeout)
		_, err := client.Metadata(dctx)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("discovery from -issuer %s: %w", cfg.Issuer, err)
		}
	}
	x, err := exchange.New(client, exchange.Options{})
	if err != nil {
		return nil, err
	}
	// Each failed request is logged once, by onError; the transport logs
	// only its 401 retries.
	t, err := newTransport(cfg, client, x, logger)
	if err != nil {
		x.Close()
		return nil, err
	}
	bearer, validator, err := newBearer(ctx, cfg, logger)
	if err != nil {
		x.Close()
		return nil, err
	}
	g := &Gateway{
		routes:    cfg.Routes,
		proxies:   make(map[string]routeProxy, len(cfg.Routes)),
		bearer:    bearer,
		client:    &http.Client{Transport: t},
		exchanger: x,
		validator: validator,
		onError:   outbound.ErrorHandler(logger),
		log:       logger,
	}
	for _, r := range cfg.Routes {
		g.proxies[r.Service] = routeProxy{prefix: r.Prefix, proxy: outbound.NewReverseProxy(r.URL, t, logger)}
	}
	return g, nil
}

// newBearer returns the inbound middleware, validating tokens with the
// returned Validator when cfg.JWKSURL is set.
func newBearer(ctx context.Context, cfg Config, logger *slog.Logger) (func(http.Handler) http.Handler, *jwt.Validator, error) {
	var validator *jwt.Validator
	opts := middleware.Options{
		Realm: Realm,
		OnRefusal: func(r *http.Request, err error) {
			logger.DebugContext(r.Context(), "inbound token refused", "method", r.Method, "path", r.URL.Path, "error", err)
		},
	}
	if cfg.JWKSURL != "" {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		v, err := jwt.New(ctx, jwt.Config{
			Issuer:     cfg.Issuer,
			JWKSURL:    cfg.JWKSURL,
			Audience:   cfg.inboundAudiences(),
			HTTPClient: cfg.HTTPClient,
		})
		if err != nil {
			return nil, nil, fmt.Errorf("inbound validation: %w", err)
		}
		opts.Validator = v
		validator = v
	} else if open := cfg.unvalidated(); len(open) > 0 {
		logger.Warn("INSECURE: inbound tokens are not validated (-insecure-skip-validation, no -jwks-url): any bearer string reaches these routes",
			"routes", strings.Join(open, ","))
	} else {
		logger.Warn("inbound tokens are not validated here (no -jwks-url): the authority checks them only when it exchanges them, so every new bearer string costs an exchange request")
	}
	return middleware.Bearer(opts), validator, nil
}

// Close stops the gateway's background work: the exchanger's flights,
// refreshes and cache maintenance, and the validator's key set refresh.
// Call it once the server has shut down; requests still using the
// gateway afterwards fail with [exchange.ErrClosed].
func (g *Gateway) Close() {
	g.exchanger.Close()
	if g.validator != nil {
		g.validator.Close()
	}
}

// Authenticate is the inbound middleware: it refuses requests without a
// (valid) bearer token with 401 and a WWW-Authenticate challenge, and
// puts the token in the request context for the outbound transport.
func (g *Gateway) Authenticate(next http.Handler) http.Handler { return g.bearer(next) }

// Stats returns the exchanger's counters: exchanges, cache hits, misses.
func (g *Gateway) Stats() exchange.Stats { return g.exchanger.Stats() }

// Healthz answers 200 "ok"; it needs no token.
func (g *Gateway) Healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}
