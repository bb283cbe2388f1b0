package introspect

import (
	"context"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/middleware"
)

// Defaults of [Config].
const (
	DefaultLeeway             = 30 * time.Second
	DefaultMaxAge             = 30 * time.Second
	DefaultInactiveMaxAge     = 5 * time.Second
	DefaultMaxEntries         = 10_000
	DefaultMaxBytes           = 32 << 20
	DefaultInactiveMaxEntries = 10_000
	DefaultMaxInFlight        = 64
	DefaultTimeout            = 5 * time.Second
)

// Config configures [New]. Client is required; the zero value of every
// other field selects its default.
type Config struct {
	// Client introspects the tokens: it knows the introspection endpoint
	// (authority.Config.IntrospectionURL, or discovery) and authenticates
	// as the gateway by whatever method it is configured with. Required.
	Client *authority.Client

	// Issuer is the issuer identifier an answer's "iss" must equal. If
	// empty, the Client's configured Issuer. One of them is required: an
	// answer without "iss" is refused (401 invalid_token,
	// [middleware.ErrMissingClaim]), as is one whose "iss" differs
	// ([middleware.ErrInvalidIssuer]).
	Issuer string

	// Audience lists the audiences this service answers to: an answer's
	// "aud" must contain at least one of them ([middleware.ErrInvalidAudience]),
	// and an answer without "aud" is refused ([middleware.ErrMissingClaim]).
	// Empty: the audience is not checked at all, and every active access
	// token of the issuer is accepted. Many servers (ZITADEL, Keycloak)
	// include "aud" in their answers: configure it. Whatever Audience, an
	// answer that describes another kind of token is refused (see
	// TokenTypeHint).
	Audience []string

	// TokenTypeHint is sent as token_type_hint. Default
	// [authority.TokenTypeHintAccessToken]; "-" sends none.
	//
	// A server may ignore the hint and answer active for a refresh token
	// or an ID token (Keycloak does). So, whatever the hint, an active
	// answer is refused (401 invalid_token, [middleware.ErrInvalidType],
	// cached as a refusal) when its "token_type" is present and is not
	// "Bearer" (RFC 6749 §7.1 type names), or when it has a "typ" claim
	// that is not "Bearer" (Keycloak's access tokens; "Refresh", "Offline"
	// and "ID" are refused) nor "at+jwt" or "application/at+jwt" (RFC 9068
	// §2.1); each compared without case. An answer with neither is not
	// refused for its type.
	TokenTypeHint string

	// Leeway is the clock skew tolerated for "exp", "nbf" and "iat".
	// Default [DefaultLeeway] (30s); negative means none.
	Leeway time.Duration

	// MaxAge is the longest an active answer is reused for the same token
	// without asking again, and so the longest a token revoked at the
	// authorization server keeps passing: it is answered from the cache
	// until the earlier of its "exp" and MaxAge after the introspection.
	// An answer without "exp" is accepted and cached for MaxAge. Default
	// [DefaultMaxAge] (30s).
	MaxAge time.Duration

	// InactiveMaxAge is how long a refusal (an inactive token, or claims
	// the checks refuse) is reused without asking again. Default
	// [DefaultInactiveMaxAge] (5s); negative: refusals are not cached.
	// Unavailability (an error from the endpoint) is never cached.
	InactiveMaxAge time.Duration

	// MaxEntries and MaxBytes bound the cache of active answers, in
	// entries and in estimated bytes (the answer's JSON, its claims and an
	// overhead). Defaults [DefaultMaxEntries] and [DefaultMaxBytes].
	MaxEntries int
	MaxBytes   int64

	// InactiveMaxEntries bounds the cache of refusals, separately, so that
	// a flood of made-up tokens cannot push out the active answers.
	// Default [DefaultInactiveMaxEntries].
	InactiveMaxEntries int

	// MaxInFlight caps the introspections in flight (one per distinct
	// token however many requests carry it). A request whose token would
	// start one more is answered 503 with Retry-After: 1, wrapping
	// [ErrBusy]. Default [DefaultMaxInFlight].
	MaxInFlight int

	// Timeout bounds each introspection, which runs on its own: a caller
	// whose context ends stops waiting, the others still get the answer.
	// Default [DefaultTimeout] (5s).
	Timeout time.Duration

	// CheckClaims, if set, is called with the request's context and the
	// claims of a token that passed every built-in check, on every
	// request (cached answers included); a non-nil error refuses the
	// token. A [*middleware.Error] is returned as it is; any other error
	// becomes 401 invalid_token "token rejected by policy", wrapping
	// [middleware.ErrRejected] and the error. It is called concurrently:
	// read the claims, do not modify them.
	CheckClaims func(ctx context.Context, c *middleware.Claims) error

	// Now is the clock of the claim checks and of the cache. If nil,
	// time.Now.
	Now func() time.Time

	// MeterProvider receives the validator's metrics (see "Telemetry" in
	// the package documentation). If nil, otel.GetMeterProvider().
	MeterProvider metric.MeterProvider

	// TracerProvider receives a span for each introspection the validator
	// runs (the Client's own span is its child). If nil,
	// otel.GetTracerProvider().
	TracerProvider trace.TracerProvider

	// Logger receives introspections that failed (Warn), rate-limited to
	// one record of a kind a minute; a refusal of the gateway's own
	// credentials (HTTP 401 or 403, invalid_client) is logged as a
	// misconfiguration (Error). Never a token. If nil, slog.Default().
	Logger *slog.Logger
}
