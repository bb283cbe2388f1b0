// Package jwt validates inbound JWT access tokens for package middleware:
// its [Validator] implements [middleware.Validator].
//
//	v, err := jwt.New(ctx, jwt.Config{
//		Issuer:   "https://auth.example.com/realms/shop", // keys found by discovery
//		Audience: []string{"orders"},
//	})
//	if err != nil { ... } // discovery or the key set failed: reported at startup
//	defer v.Close()       // ends a key set fetch in progress
//	handler = middleware.Bearer(middleware.Options{Validator: v})(handler)
//
// A token must be a compact JWS signed with an allowed asymmetric
// algorithm ([DefaultAlgorithms]; never "none" or HMAC) by a key of the
// authorization server's JWK Set, found at [Config.JWKSURL] or by
// [authority.Discover] from the issuer (RFC 8414 metadata first, then
// OpenID Connect discovery). Its claims are read by
// [middleware.ParseClaims], with RFC 7519's types enforced ("exp", "nbf"
// and "iat" must be JSON numbers: a string of digits is refused), and must
// name the configured issuer and one of the audiences, and be within their
// validity period (with [Config.Leeway]).
//
// An ID token whose "aud" happens to name this service is a valid JWT from
// the issuer too: refuse it with [Config.Types] (header "typ" "at+jwt",
// RFC 9068) when the authorization server marks access tokens so, or else
// with [Config.CheckClaims] (for Keycloak, the claim "typ" is "Bearer" for
// access tokens and "ID" for ID tokens).
//
// Keys are cached: refreshed in the background when older than
// [Config.RefreshInterval], refetched (rate limited) when a token names an
// unknown "kid". Refusals are [*middleware.Error] values wrapping the
// sentinels of package middleware (401 invalid_token); a key set that
// cannot be fetched when a token needs it is [middleware.ErrKeysUnavailable]
// (503 with Retry-After). jwx (github.com/lestrrat-go/jwx/v2) does the
// signature work, but no jwx type appears in this package's API.
//
// # Telemetry
//
// A [Validator] reports its key set fetches through the OpenTelemetry API,
// with the meter and tracer "github.com/go-tokenexchange/tokenexchange/middleware/jwt"
// of [Config.MeterProvider] and [Config.TracerProvider] (default: the
// global providers, no-ops until the application installs some).
// Validation itself records nothing: package middleware counts refusals
// by reason, and a token checked against cached keys starts no span.
//
// Metrics:
//
//   - tokenexchange.jwks.fetches (Int64Counter, {fetch}; attributes
//     tokenexchange.trigger = startup | background | unknown_kid and
//     tokenexchange.outcome = success | error | canceled): key set
//     fetches. startup: the fetch of [New]; background: a refresh of keys
//     older than [Config.RefreshInterval]; unknown_kid: the refetch a
//     token with an unknown "kid" started. error: the server, the network
//     or the key set failed, or the fetch timed out; canceled:
//     [Validator.Close] (or the context of New) ended it.
//   - tokenexchange.jwks.keys (Int64ObservableGauge, {key}): the usable
//     signing keys the Validator holds; reported until Close.
//
// Spans (client kind):
//
//   - tokenexchange.jwks.fetch, one per key set fetch, with the attributes
//     tokenexchange.trigger, tokenexchange.outcome,
//     http.response.status_code (when there was a response),
//     server.address and server.port (of the configured or discovered key
//     set URL). On failure its status is Error with a description from a
//     closed set: transport, http_status, read_body, malformed_key_set,
//     no_usable_keys, timeout or canceled. The startup fetch is a child of
//     the span in New's context. A background fetch is a new root: no
//     request waits for it. An unknown kid's refetch, which concurrent
//     requests share and which outlives the request that started it, is a
//     new root too, linked to the span of every request that waits for it
//     (the one that started it and each that joined it). The fetch's
//     request carries the span in its context (for an instrumented
//     [Config.HTTPClient]) and, through [Config.Propagator], in its
//     headers.
//   - tokenexchange.jwks.discovery, when the key set is found by
//     discovery: a child of the span in New's context, with
//     tokenexchange.trigger = startup, tokenexchange.outcome,
//     server.address and server.port of the issuer; failure descriptions
//     discovery, no_jwks_uri, timeout or canceled.
//
// Logs, through [Config.Logger], for the fetches no caller sees fail (at
// most one record of each kind a minute, the next one counting those held
// back as "suppressed"): Warn "jwt: key set refresh failed; the keys held
// keep serving" and Warn "jwt: key set refetch for an unknown kid failed",
// with the error (naming the key set's URL without its query), the
// failure word and retry_in; Info "jwt: key set fetched again after
// failures" with the number of failures; Debug "jwt: key set fetched"
// for routine refreshes. The fetch of New is not logged: New returns its
// error.
//
// No token, claim or subject ever reaches an attribute, a span or a log
// record: the values come from the closed sets above and the
// configuration. [Validator.Ready] serves a readiness probe.
package jwt
