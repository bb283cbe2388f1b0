package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/exchange/rediscache"
	"github.com/go-tokenexchange/tokenexchange/internal/ratelog"
	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/middleware/jwt"
	"github.com/go-tokenexchange/tokenexchange/outbound"
)

// Realm is the realm of the gateway's WWW-Authenticate challenges.
const Realm = "gateway"

// Gateway holds the assembled parts of one gateway: the inbound
// middleware, one reverse proxy per service and an HTTP client for calls
// the gateway makes itself, all over one outbound transport, and its
// telemetry: a MeterProvider of its own served at [Gateway.Metrics], the
// readiness of [Gateway.Readyz] and the access log of
// [Gateway.AccessLog]. Mount its handlers on any router. It is safe for
// concurrent use.
type Gateway struct {
	routes    []Route               // in configuration order
	services  map[string]bool       // the configured services, for the access log
	proxies   map[string]routeProxy // by service
	bearer    func(http.Handler) http.Handler
	client    *http.Client // over the outbound transport
	exchanger *exchange.Exchanger
	shared    *rediscache.Cache // nil without Config.RedisURL
	ready     *readiness
	telemetry *telemetry
	onError   func(http.ResponseWriter, *http.Request, error)
	log       *slog.Logger
	metadata  *middleware.ProtectedResourceHandler // nil without -protected-resource
}

// New checks cfg (see [Config.Validate]) and assembles a gateway from it:
// its MeterProvider, the authority client, the exchanger, the outbound
// transport and, when cfg.JWKSURL or introspection is set, the inbound
// token validator.
// Logs go to logger; nil means none.
//
// It makes one attempt, under ctx with a deadline of a few seconds, to
// load what it needs from the authority: its metadata (discovery from
// cfg.Issuer, when cfg.TokenURL is empty), the signing keys of
// cfg.JWKSURL and, with introspection, the introspection endpoint. When the authority cannot be reached, New still returns
// a gateway, after one Warn: [Gateway.Readyz] answers 503 with the
// reason, requests that need a validated token 503 with Retry-After,
// and the gateway retries in the background (1s, doubling up to 30s)
// until it has everything, or until [Gateway.Close]. What no retry can
// cure fails New: an invalid cfg, and a discovery whose every document
// answered but none is usable (not found, another issuer, no token
// endpoint: [authority.IsPermanent]), which means a wrong -issuer.
func New(ctx context.Context, cfg Config, logger *slog.Logger) (g *Gateway, err error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	metadata, err := newMetadata(cfg)
	if err != nil {
		return nil, err
	}
	tel, err := newTelemetry()
	if err != nil {
		return nil, err
	}
	var cleanup []func()
	defer func() {
		if err != nil {
			for _, f := range slices.Backward(cleanup) {
				f()
			}
		}
	}()
	cleanup = append(cleanup, func() { _ = tel.shutdown(context.Background()) })
	tp := cfg.TracerProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	prop := cfg.Propagator
	if prop == nil {
		prop = otel.GetTextMapPropagator()
	}
	client, err := authority.New(authority.Config{
		Issuer:           cfg.Issuer,
		TokenURL:         cfg.TokenURL,
		IntrospectionURL: cfg.IntrospectionURL,
		ClientID:         cfg.ClientID,
		ClientSecret:     cfg.ClientSecret,
		Signer:           cfg.ClientKey,
		KeyID:            cfg.ClientKeyID,
		SigningAlgorithm: authority.SigningAlgorithm(cfg.ClientKeyAlgorithm),
		Certificate:      cfg.ClientCert,
		AuthMethod:       authority.AuthMethod(cfg.AuthMethod),
		HTTPClient:       cfg.HTTPClient,
		MeterProvider:    tel.provider,
		TracerProvider:   tp,
		Propagator:       prop,
		Logger:           logger,
	})
	if err != nil {
		return nil, err
	}

	rd := &readiness{log: ratelog.New(logger, time.Minute, nil)}
	if cfg.TokenURL == "" {
		rd.client, rd.metadataErr = client, errNotTried
	}
	if cfg.JWKSURL != "" {
		rd.keys, rd.keysErr = &jwt.Config{
			Issuer:         cfg.Issuer,
			JWKSURL:        cfg.JWKSURL,
			Audience:       cfg.inboundAudiences(),
			HTTPClient:     cfg.HTTPClient,
			MeterProvider:  tel.provider,
			TracerProvider: tp,
			Propagator:     prop,
			Logger:         logger,
		}, errNotTried
	}
	if rd.intro = introspectionConfig(cfg, client, tel.provider, tp, logger); rd.intro != nil {
		rd.introErr = errNotTried
	}
	cleanup = append(cleanup, rd.stop)
	ready := rd.load(ctx, startupAttemptTimeout)
	if !ready {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("gateway: startup: %w", err)
		}
		rd.mu.Lock()
		merr := rd.metadataErr
		rd.mu.Unlock()
		if merr != nil && authority.IsPermanent(merr) {
			return nil, fmt.Errorf("discovery from -issuer %s: %w", cfg.Issuer, merr)
		}
		logger.Warn("authority unreachable at startup: serving, but not ready (/readyz answers 503) until it is; retrying in the background",
			"error", rd.err())
	}

	xopts := exchange.Options{
		MeterProvider:  tel.provider,
		TracerProvider: tp,
		Logger:         logger,
	}
	var refusals outbound.RefusalMemory
	var shared *rediscache.Cache
	if cfg.RedisURL != "" {
		if shared, err = newSharedCache(cfg, tel.provider, logger); err != nil {
			return nil, err
		}
		cleanup = append(cleanup, func() { _ = shared.Close() })
		refusals = shared.Refusals()
		// The fleet's tier, behind the in-process one: a hit costs no
		// Redis call; a miss locks, waits for or fills the entry there.
		xopts.Shared = shared
	}
	x, err := exchange.New(client, xopts)
	if err != nil {
		return nil, err
	}
	cleanup = append(cleanup, x.Close)
	// Each failed request is logged once, by onError; the transport logs
	// only its 401 retries.
	t, err := newTransport(cfg, client, x, refusals, logger, tel.provider)
	if err != nil {
		return nil, err
	}
	g = &Gateway{
		routes:    cfg.Routes,
		services:  make(map[string]bool, len(cfg.Routes)),
		proxies:   make(map[string]routeProxy, len(cfg.Routes)),
		bearer:    newBearer(cfg, rd, metadataURL(metadata), logger, tel.provider),
		client:    &http.Client{Transport: t},
		exchanger: x,
		shared:    shared,
		ready:     rd,
		telemetry: tel,
		onError:   withResourceMetadata(outbound.ErrorHandler(logger), metadataURL(metadata)),
		log:       logger,
		metadata:  metadata,
	}
	for _, r := range cfg.Routes {
		g.services[r.Service] = true
		rp := outbound.NewReverseProxy(r.URL, t, logger)
		if metadata != nil {
			rp.ErrorHandler = g.onError // the same, with resource_metadata in the challenges
		}
		g.proxies[r.Service] = routeProxy{prefix: r.Prefix, proxy: rp}
	}
	if !ready {
		rd.start()
	}
	return g, nil
}

// errNotTried is why what the gateway needs from the authority is not
// loaded before the first attempt.
var errNotTried = errors.New("not loaded yet")

// newBearer returns the inbound middleware, validating tokens with the
// key set (cfg.JWKSURL), introspection or both (see inboundValidator):
// with the validators rd loaded at startup, or, while rd has not loaded
// them, through rd, which answers 503 until then.
// Its challenges name metadataURL, when set, as resource_metadata.
func newBearer(cfg Config, rd *readiness, metadataURL string, logger *slog.Logger, mp metric.MeterProvider) func(http.Handler) http.Handler {
	opts := middleware.Options{
		Realm:            Realm,
		ResourceMetadata: metadataURL,
		OnRefusal: func(r *http.Request, err error) {
			logger.DebugContext(r.Context(), "inbound token refused", "method", r.Method, "path", r.URL.Path, "error", err)
		},
		MeterProvider: mp,
	}
	if v := inboundValidator(cfg, rd); v != nil {
		opts.Validator = v
	} else if open := cfg.unvalidated(); len(open) > 0 {
		logger.Warn("INSECURE: inbound tokens are not validated (-insecure-skip-validation, no -jwks-url): any bearer string reaches these routes",
			"routes", strings.Join(open, ","))
	} else {
		logger.Warn("inbound tokens are not validated here (no -jwks-url, no introspection): the authority checks them only when it exchanges them, so every new bearer string costs an exchange request")
	}
	return middleware.Bearer(opts)
}

// Close stops the gateway's background work: the retries that load what
// it needs from the authority, the exchanger's flights, refreshes and
// cache maintenance, the validator's key set refresh, its Redis client
// (with Config.RedisURL) and its MeterProvider.
// Call it once the server has shut down; requests still using the
// gateway afterwards fail with [exchange.ErrClosed].
func (g *Gateway) Close() {
	g.ready.stop()
	g.exchanger.Close()
	if g.shared != nil {
		_ = g.shared.Close()
	}
	_ = g.telemetry.shutdown(context.Background())
}

// newSharedCache returns the encrypted Redis cache of cfg.RedisURL and
// cfg.CacheKeys. It does not wait for Redis: while Redis does not answer,
// its calls fail fast (a circuit breaker) and count as misses.
func newSharedCache(cfg Config, mp metric.MeterProvider, logger *slog.Logger) (*rediscache.Cache, error) {
	c, err := rediscache.New(rediscache.Options{
		URL:           cfg.RedisURL,
		Keys:          cfg.CacheKeys,
		OpTimeout:     cfg.RedisTimeout,
		MeterProvider: mp,
		Logger:        logger,
	})
	if err != nil {
		// rediscache's errors name the field, never the URL or a key.
		return nil, fmt.Errorf("-redis-url: %w", err)
	}
	// Connect now rather than on the first request, whose call would
	// otherwise pay for the connection within -redis-timeout. Redis down
	// at startup is no error: the gateway serves per replica until it
	// answers.
	ctx, cancel := context.WithTimeout(context.Background(), redisWarmUp)
	defer cancel()
	if err := c.Client().Do(ctx, c.Client().B().Ping().Build()).Error(); err != nil {
		logger.Warn("Redis does not answer at startup: each replica exchanges on its own until it does", "error", err)
	}
	return c, nil
}

// redisWarmUp bounds the connection New makes to Redis.
const redisWarmUp = 2 * time.Second

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
