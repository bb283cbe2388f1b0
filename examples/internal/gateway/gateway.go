package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/middleware"
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
	onError   func(http.ResponseWriter, *http.Request, error)
	log       *slog.Logger
}

// New assembles a gateway from cfg: the authority client, the exchanger,
// the outbound transport and, when cfg.JWKSURL is set, the inbound token
// validator, whose key set it fetches under ctx. Logs go to logger; nil
// means none.
func New(ctx context.Context, cfg Config, logger *slog.Logger) (*Gateway, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	client, err := authority.New(authority.Config{
		Issuer:       cfg.Issuer,
		TokenURL:     cfg.TokenURL,
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		AuthMethod:   authority.AuthMethod(cfg.AuthMethod),
		HTTPClient:   cfg.HTTPClient,
	})
	if err != nil {
		return nil, err
	}
	x, err := exchange.New(client, exchange.Options{})
	if err != nil {
		return nil, err
	}
	t, err := newTransport(cfg, client, x, logger)
	if err != nil {
		return nil, err
	}
	bearer, err := newBearer(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	g := &Gateway{
		routes:    cfg.Routes,
		proxies:   make(map[string]routeProxy, len(cfg.Routes)),
		bearer:    bearer,
		client:    &http.Client{Transport: t},
		exchanger: x,
		onError:   outbound.ErrorHandler(logger),
		log:       logger,
	}
	for _, r := range cfg.Routes {
		g.proxies[r.Service] = routeProxy{prefix: r.Prefix, proxy: newProxy(r, t, g.onError)}
	}
	return g, nil
}

// newBearer returns the inbound middleware, validating tokens when
// cfg.JWKSURL is set.
func newBearer(ctx context.Context, cfg Config, logger *slog.Logger) (func(http.Handler) http.Handler, error) {
	opts := middleware.Options{
		Realm: Realm,
		OnRefusal: func(r *http.Request, err error) {
			logger.DebugContext(r.Context(), "inbound token refused", "method", r.Method, "path", r.URL.Path, "error", err)
		},
	}
	if cfg.JWKSURL != "" {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		v, err := middleware.NewValidator(ctx, middleware.ValidatorConfig{
			Issuer:     cfg.Issuer,
			JWKSURL:    cfg.JWKSURL,
			Audience:   cfg.inboundAudiences(),
			HTTPClient: cfg.HTTPClient,
		})
		if err != nil {
			return nil, fmt.Errorf("inbound validation: %w", err)
		}
		opts.Validator = v
	} else {
		logger.Warn("inbound tokens are not validated here (no -jwks-url); the authority checks them at exchange")
	}
	return middleware.Bearer(opts), nil
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
