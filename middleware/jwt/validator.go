package jwt

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/middleware"
)

// Defaults of [Config].
const (
	DefaultLeeway             = 30 * time.Second
	DefaultRefreshInterval    = 15 * time.Minute
	DefaultMinRefetchInterval = time.Minute
	DefaultFetchTimeout       = 10 * time.Second
)

// Config configures [New]. Issuer and Audience are required.
type Config struct {
	// Issuer is the authorization server's issuer identifier; a token's "iss"
	// must equal it exactly. Required.
	Issuer string

	// JWKSURL is where the signing keys are published. If empty, it is the
	// "jwks_uri" of the metadata that [authority.Discover] finds from Issuer
	// (RFC 8414 first, then OpenID Connect discovery); the document's issuer
	// must equal Issuer.
	JWKSURL string

	// Audience lists the audiences this service answers to; a token's "aud"
	// must contain at least one of them. Required. A protected resource's
	// RFC 9728 identifier, which clients send as the RFC 8707 resource
	// parameter, is accepted by listing it here.
	Audience []string

	// Algorithms lists the accepted "alg" values. Default [DefaultAlgorithms].
	// "none" and HS256/HS384/HS512 are refused by New: keys come from a
	// public key set, and a public key must never serve as an HMAC secret.
	// So is any algorithm not in [DefaultAlgorithms] (such as ES256K), for which
	// no key of the set would ever be used.
	Algorithms []Algorithm

	// Types lists the accepted values of the JOSE header "typ", compared
	// case-insensitively and with an "application/" prefix ignored, so "at+jwt"
	// also accepts "application/at+jwt" (RFC 9068 §2.1). A token without a
	// "typ" header is then refused. Default empty: "typ" is not checked.
	//
	// Set Types to []string{"at+jwt"} only if the authorization server marks
	// its access tokens so (RFC 9068); it is what keeps an ID token, whose "aud"
	// may well be this service, from being accepted as an access token. Many
	// servers, Keycloak among them, send "typ": "JWT" in the header of access
	// and ID tokens alike (recent Keycloak versions send "at+jwt" for a client's
	// access tokens only when its RFC 9068 access token header option is
	// turned on); with those, Types would refuse every token or none, so tell
	// the kinds apart with CheckClaims instead.
	Types []string

	// CheckClaims, if set, is called with the request's context and the
	// claims of a token that passed every built-in check (signature, "typ",
	// "iss", "aud", "exp", "nbf", "iat"); a non-nil error refuses the token.
	// A [*middleware.Error] (found with errors.As) is returned as it is; any
	// other error becomes a 401 invalid_token with the description "token
	// rejected by policy", wrapping [middleware.ErrRejected] and the error,
	// whose text never reaches the client.
	//
	// Keycloak, for example, names the kind of a token in its "typ" claim:
	// "Bearer" for access tokens, "ID" for ID tokens, "Refresh" for refresh
	// tokens. To accept only access tokens:
	//
	//	CheckClaims: func(_ context.Context, c *middleware.Claims) error {
	//		var kc struct{ Typ string `json:"typ"` }
	//		if err := c.Decode(&kc); err != nil || kc.Typ != "Bearer" {
	//			return errors.New("not an access token")
	//		}
	//		return nil
	//	},
	//
	// It is called concurrently; the claims are those the request's context
	// will carry: read them, do not modify them.
	CheckClaims func(ctx context.Context, c *middleware.Claims) error

	// Leeway is the clock skew tolerated for "exp", "nbf" and "iat".
	// Default [DefaultLeeway] (30s) when zero; a negative Leeway means no
	// leeway at all (the same as a leeway of 0, which cannot be expressed with
	// zero since zero selects the default).
	Leeway time.Duration

	// RefreshInterval is the age after which the key set is refetched in the
	// background, while the current keys keep serving. Default 15 minutes.
	RefreshInterval time.Duration

	// MinRefetchInterval rate-limits the refetch that a token with an unknown
	// "kid" triggers: after one such refetch, unknown kids are refused without a
	// fetch until the interval has passed (the fetch at construction does not
	// count). It also spaces out background refresh attempts while the server
	// fails. Concurrent requests share one fetch. Default 1 minute.
	MinRefetchInterval time.Duration

	// FetchTimeout bounds discovery (all its documents together) and each
	// key set request, including background ones. Default 10 seconds.
	FetchTimeout time.Duration

	// HTTPClient fetches discovery documents and key sets. If nil,
	// http.DefaultClient is used. Bodies are read up to 1 MiB.
	HTTPClient *http.Client

	// Now returns the current time for the "exp", "nbf" and "iat" checks.
	// If nil, time.Now is used. Key refresh timing always uses the real clock.
	Now func() time.Time

	// VerifiedCacheMaxEntries bounds the verified-token cache, which
	// remembers the tokens that passed every check, so that a token seen
	// before is not verified and parsed again (see "Verified-token cache"
	// in the package documentation). Default
	// [DefaultVerifiedCacheMaxEntries] when zero. The cache is on by
	// default; a negative VerifiedCacheMaxEntries turns it off.
	VerifiedCacheMaxEntries int

	// VerifiedCacheMaxBytes bounds the estimated memory of the
	// verified-token cache's entries. Default [DefaultVerifiedCacheMaxBytes]
	// (32 MiB) when zero; negative is an error.
	VerifiedCacheMaxBytes int64

	// VerifiedCacheMaxAge is the longest a token is answered from the
	// verified-token cache after it was verified; it is answered no
	// longer than until its "exp" (plus Leeway) in any case. Default
	// [DefaultVerifiedCacheMaxAge] (5 minutes) when zero; negative is an
	// error.
	VerifiedCacheMaxAge time.Duration

	// MeterProvider receives the validator's metrics: key set fetches by
	// trigger and outcome, and the number of keys held (see "Telemetry"
	// in the package documentation). If nil, otel.GetMeterProvider(), a
	// no-op until the application installs one.
	MeterProvider metric.MeterProvider

	// TracerProvider receives a span for each discovery and key set fetch
	// (see "Telemetry" in the package documentation). If nil,
	// otel.GetTracerProvider(), a no-op until the application installs one.
	TracerProvider trace.TracerProvider

	// Propagator injects the context of a key set fetch's span into the
	// fetch's request headers (such as W3C traceparent with
	// propagation.TraceContext{}), so that the key server's traces join
	// the validator's. If nil, otel.GetTextMapPropagator(), which injects
	// nothing until the application installs a propagator. (The request's
	// context carries the span too, for an instrumented HTTPClient.)
	Propagator propagation.TextMapPropagator

	// Logger receives what happens in the background: failed key set
	// refreshes and refetches (Warn, with the error, which names the key
	// set's URL without its query), the first success after failures
	// (Info), and routine fetches (Debug). Records of one kind are
	// rate-limited to one a minute (the next one says how many were
	// suppressed), so that an outage does not flood the log. It never
	// receives a token. If nil, slog.Default().
	Logger *slog.Logger
}

// Validator validates JWT bearer tokens against an authorization server's
// signing keys, issuer and audience; it implements [middleware.Validator].
// Create one with [New]; it is safe for concurrent use and starts no
// goroutine except, on demand, one key set fetch at a time, which
// [Validator.Close] ends.
type Validator struct {
	issuer    string
	audiences []string
	algs      map[jwa.SignatureAlgorithm]jws.Verifier
	leeway    time.Duration
	now       func() time.Time
	keys      *keyCache
	types     []string // normalized Types; nil when typ is not checked
	check     func(context.Context, *middleware.Claims) error
	verified  *verifiedCache // nil when turned off
	tel       *telemetry
}

var _ middleware.Validator = (*Validator)(nil)

// New returns a Validator for cfg. It runs discovery (when JWKSURL is
// empty) and fetches the key set before returning, under ctx, so that a
// misconfigured or unreachable authorization server is reported at startup.
// Call [Validator.Close] when done with it.
//
// Its errors, none of which is a sentinel (they are for the operator, at
// startup): a missing Issuer or Audience, a negative interval, an empty
// Types entry, an algorithm that is not allowed or not supported, a
// JWKSURL that is not an absolute http(s) URL, a failed discovery (the
// error of [authority.Discover], which names each document tried, or
// "no jwks_uri" when the metadata lacks one), and a key set that could not
// be fetched, is not a JWK Set, exceeds 1 MiB or holds no usable signing
// key. When ctx ends first, the error wraps ctx's error.
func New(ctx context.Context, cfg Config) (*Validator, error) {
	return newValidator(ctx, cfg, nil)
}

// newValidator is [New] with the clock of the log limiter (time.Now when
// nil), which tests drive.
func newValidator(ctx context.Context, cfg Config, logNow func() time.Time) (*Validator, error) {
	if cfg.Issuer == "" {
		return nil, errors.New("jwt: Config.Issuer is required")
	}
	if len(cfg.Audience) == 0 || slices.Contains(cfg.Audience, "") {
		return nil, errors.New("jwt: Config.Audience is required and must not contain empty values")
	}
	if cfg.VerifiedCacheMaxBytes < 0 {
		return nil, errors.New("jwt: Config.VerifiedCacheMaxBytes must not be negative")
	}
	for _, d := range []time.Duration{cfg.RefreshInterval, cfg.MinRefetchInterval, cfg.FetchTimeout, cfg.VerifiedCacheMaxAge} {
		if d < 0 {
			return nil, errors.New("jwt: Config intervals and timeouts must not be negative")
		}
	}
	v := &Validator{
		issuer:    cfg.Issuer,
		audiences: slices.Clone(cfg.Audience),
		algs:      make(map[jwa.SignatureAlgorithm]jws.Verifier),
		leeway:    max(cmp.Or(cfg.Leeway, DefaultLeeway), 0),
		now:       cfg.Now,
		check:     cfg.CheckClaims,
	}
	for _, typ := range cfg.Types {
		n := normalizeType(typ)
		if n == "" {
			return nil, errors.New("jwt: Config.Types must not contain empty values")
		}
		v.types = append(v.types, n)
	}
	if v.now == nil {
		v.now = time.Now
	}
	algs := cfg.Algorithms
	if len(algs) == 0 {
		algs = DefaultAlgorithms()
	}
	for _, a := range algs {
		alg := jwa.SignatureAlgorithm(a)
		switch alg {
		case jwa.NoSignature, jwa.HS256, jwa.HS384, jwa.HS512:
			return nil, fmt.Errorf("jwt: algorithm %q is not allowed with a public key set", a)
		}
		if !supportedAlg(alg) {
			return nil, fmt.Errorf("jwt: algorithm %q is not supported: no key of a key set is ever used with it (supported: %v)", a, DefaultAlgorithms())
		}
		verifier, err := jws.NewVerifier(alg)
		if err != nil {
			return nil, fmt.Errorf("jwt: algorithm %q: %w", a, err)
		}
		v.algs[alg] = verifier
	}
	client := cmp.Or(cfg.HTTPClient, http.DefaultClient)
	timeout := cmp.Or(cfg.FetchTimeout, DefaultFetchTimeout)
	tel := newTelemetry(cfg, logNow)
	v.tel = tel
	jwksURL := cfg.JWKSURL
	if jwksURL == "" {
		var err error
		if jwksURL, err = discoverKeySet(ctx, tel, client, cfg.Issuer, timeout); err != nil {
			return nil, err
		}
	} else if err := checkHTTPURL(jwksURL); err != nil {
		return nil, fmt.Errorf("jwt: Config.JWKSURL: %w", err)
	}
	v.keys = &keyCache{
		url:        jwksURL,
		client:     client,
		timeout:    timeout,
		refresh:    cmp.Or(cfg.RefreshInterval, DefaultRefreshInterval),
		minRefetch: cmp.Or(cfg.MinRefetchInterval, DefaultMinRefetchInterval),
		tel:        tel,
	}
	if cfg.VerifiedCacheMaxEntries >= 0 {
		vc, err := newVerifiedCache(
			cmp.Or(cfg.VerifiedCacheMaxEntries, DefaultVerifiedCacheMaxEntries),
			cmp.Or(cfg.VerifiedCacheMaxBytes, DefaultVerifiedCacheMaxBytes),
			cmp.Or(cfg.VerifiedCacheMaxAge, DefaultVerifiedCacheMaxAge),
			v.now)
		if err != nil {
			return nil, err
		}
		v.verified = vc
		v.keys.stored = vc.purge
	}
	if err := v.keys.load(ctx); err != nil {
		v.keys.close()
		v.closeVerified()
		return nil, err
	}
	tel.observeVerified(v.verified)
	return v, nil
}

// closeVerified drops the verified-token cache's entries and stops its
// telemetry.
func (v *Validator) closeVerified() {
	if v.verified != nil {
		v.verified.close()
	}
}

// Close cancels a key set fetch in progress (a background refresh, or the
// refetch an unknown "kid" started), waits until it has returned, and
// keeps any other from starting. Call it when the Validator is no longer
// used (deferred after New, or with t.Cleanup in a test), so that
// no fetch outlives it. Validate still works afterwards with the keys the
// Validator holds: a token signed with any other key is refused with
// [middleware.ErrUnknownKey]. Close is safe for concurrent use and may be called more
// than once; every call returns once no fetch runs.
//
// Close also empties the verified-token cache; tokens validated afterwards
// are remembered again.
func (v *Validator) Close() {
	v.keys.close()
	v.tel.stopVerified()
	v.closeVerified()
}

// Ready reports whether the Validator can validate tokens and follow the
// authorization server's key rotations, for a readiness probe: nil while
// it holds a non-empty key set and [Validator.Close] has not been called;
// an error saying which otherwise. Since [New] fails without a usable key
// set, a Validator is ready from New to Close.
//
// A failing key set refresh does not make it unready: the keys it holds
// keep validating tokens, which an outage of the key server does not
// invalidate, and failing readiness then would take every replica out of
// service at once. Watch tokenexchange.jwks.fetches with outcome "error"
// and the Warn records of Config.Logger instead.
func (v *Validator) Ready() error {
	if v.keys.isClosed() {
		return errors.New("jwt: validator closed")
	}
	if snap := v.keys.keys.Load(); snap == nil || len(snap.all) == 0 {
		return errors.New("jwt: no signing keys loaded")
	}
	return nil
}

// discoverKeySet finds the key set's URL from issuer's metadata, under a
// span that is a child of ctx's.
func discoverKeySet(ctx context.Context, tel *telemetry, client *http.Client, issuer string, timeout time.Duration) (string, error) {
	ctx, span := tel.tracer.Start(ctx, discoverySpan,
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(triggerKey.String(triggerNames[triggerStartup])),
		trace.WithAttributes(tel.discServer...))
	defer span.End()
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	meta, err := authority.Discover(dctx, client, issuer)
	failure := ""
	switch {
	case err != nil && dctx.Err() != nil:
		failure = failureOf(dctx, 0, err)
	case err != nil:
		failure = failDiscoveryFail
	case meta.JWKSURI == "":
		failure = failNoJWKSURI
		err = errors.New("the authorization server's metadata has no jwks_uri")
	}
	o := outcomeSuccess
	if failure == failCanceled {
		o = outcomeCanceled
	} else if failure != "" {
		o = outcomeError
	}
	span.SetAttributes(outcomeKey.String(outcomeNames[o]))
	if err != nil {
		span.SetStatus(codes.Error, failure)
		return "", fmt.Errorf("jwt: finding the key set of %q: %w", issuer, err)
	}
	return meta.JWKSURI, nil
}

// normalizeType returns the comparable form of a "typ" value (RFC 7515
// §4.1.9): lower case, without an "application/" prefix.
func normalizeType(typ string) string {
	typ = strings.ToLower(typ)
	return strings.TrimPrefix(typ, "application/")
}
