package gateway

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/middleware/introspect"
)

// defineIntrospectionFlags defines the flags of inbound validation by
// RFC 7662 token introspection, storing into cfg.
func defineIntrospectionFlags(fs *flag.FlagSet, cfg *Config) {
	fs.StringVar(&cfg.IntrospectionURL, "introspection-url", "", "RFC 7662 token introspection endpoint `URL`; turns inbound validation by introspection on (needs -issuer); with -jwks-url, JWT-shaped tokens use the keys and the others introspection")
	fs.Var((*positiveDuration)(&cfg.IntrospectionMaxAge), "introspection-max-age", "reuse an active introspection answer for at most this `duration`: the longest a revoked token keeps passing (default 30s)")
	fs.BoolVar(&cfg.Introspect, "introspect", false, "validate inbound tokens by introspection at the endpoint discovery from -issuer names (introspection_endpoint); not with -token-url, which turns discovery off")
}

// introspects reports whether c validates inbound tokens by introspection.
func (c Config) introspects() bool { return c.IntrospectionURL != "" || c.Introspect }

// validates reports whether c validates inbound tokens: by their
// signature (JWKSURL), by introspection, or both.
func (c Config) validates() bool { return c.JWKSURL != "" || c.introspects() }

// checkIntrospection checks the introspection settings of a gateway in
// front of a real authority.
func (c Config) checkIntrospection() error {
	switch {
	case !c.introspects() && c.IntrospectionMaxAge != 0:
		return errors.New("-introspection-max-age needs -introspection-url or -introspect")
	case !c.introspects():
		return nil
	case c.Issuer == "":
		return errors.New("introspection (-introspection-url, -introspect) needs -issuer, the iss that the answers must carry")
	case c.IntrospectionURL == "" && c.TokenURL != "":
		return errors.New("-introspect finds the endpoint by discovery, which -token-url turns off: give -introspection-url")
	case c.IntrospectionMaxAge < 0:
		return errors.New("-introspection-max-age must not be negative")
	}
	return nil
}

// errIntrospectionNotLoaded is the cause of the 503 answered while the
// introspection endpoint is not known.
var errIntrospectionNotLoaded = errors.New("gateway: the introspection endpoint is not known yet")

// introspection is the introspecting side of the inbound validator before
// the introspection validator is loaded: it validates with it once rd has
// it, and answers 503 with Retry-After until then.
type introspection struct{ rd *readiness }

// Validate implements middleware.Validator.
func (in introspection) Validate(ctx context.Context, token authority.SubjectToken) (*middleware.Claims, error) {
	if v := in.rd.introspect.Load(); v != nil {
		return v.Validate(ctx, token)
	}
	return nil, &middleware.Error{
		Code:        middleware.CodeTemporarilyUnavailable,
		Description: "the gateway has not reached the introspection endpoint yet",
		Status:      http.StatusServiceUnavailable,
		RetryAfter:  keysRetryAfter,
		Err:         fmt.Errorf("%w: %w", middleware.ErrUnavailable, errIntrospectionNotLoaded),
	}
}

// inboundValidator returns the validator of inbound tokens, nil without
// validation: the key set's (-jwks-url), introspection's, or both behind
// middleware.ByShape (JWT-shaped tokens to the keys). A side loaded at
// startup is used directly; one still loading goes through rd, which
// answers 503 until it is loaded.
func inboundValidator(cfg Config, rd *readiness) middleware.Validator {
	var keys, intro middleware.Validator
	if cfg.JWKSURL != "" {
		if v := rd.validator.Load(); v != nil {
			keys = v // no indirection once loaded at startup
		} else {
			keys = rd
		}
	}
	if cfg.introspects() {
		if v := rd.introspect.Load(); v != nil {
			intro = v
		} else {
			intro = introspection{rd}
		}
	}
	switch {
	case keys != nil && intro != nil:
		return middleware.ByShape(keys, intro)
	case keys != nil:
		return keys
	case intro != nil:
		return intro
	}
	return nil
}

// introspectionConfig returns the configuration of the introspection
// validator, nil without introspection.
func introspectionConfig(cfg Config, client *authority.Client, mp metric.MeterProvider, tp trace.TracerProvider, logger *slog.Logger) *introspect.Config {
	if !cfg.introspects() {
		return nil
	}
	return &introspect.Config{
		Client:         client,
		Issuer:         cfg.Issuer,
		Audience:       cfg.inboundAudiences(),
		MaxAge:         cfg.IntrospectionMaxAge,
		MeterProvider:  mp,
		TracerProvider: tp,
		Logger:         logger,
	}
}
