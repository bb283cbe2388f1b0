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
// A protected resource with an RFC 9728 resource identifier (see
// [middleware.ProtectedResource]) is given tokens for it by clients that
// send that identifier as the RFC 8707 "resource" parameter; authorization
// servers put it in the token's "aud". Accept such tokens by listing the
// identifier among the audiences, beside any logical name the resource
// has: Audience: []string{"orders", "https://api.example/orders"}.
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
// # Verified-token cache
//
// A token that passed every check is remembered, by the SHA-256 of the
// token ([authority.SubjectToken.Digest], computed once per request and
// shared with the exchanger), so that the same caller sending the same
// token again costs a lookup instead of a signature verification and a
// claims parse. Each [Validator] has a cache of its own (two validators
// with different issuers, audiences or key sets never share an entry), on
// by default and bounded: [Config.VerifiedCacheMaxEntries] entries
// (default 10,000; negative turns the cache off) and
// [Config.VerifiedCacheMaxBytes] estimated bytes (default 32 MiB; an entry
// weighs its claims' JSON plus about 0.5 KiB, and at least
// MaxBytes/MaxEntries). Only successes are remembered: a refused token is
// checked in full every time, so forged or expired tokens can neither be
// admitted by the cache nor evict good entries; a flood of distinct valid
// tokens is held off by the bounds (W-TinyLFU keeps the frequently used).
//
// A token is answered from the cache until the earlier of its "exp" plus
// [Config.Leeway] (as the uncached check) and [Config.VerifiedCacheMaxAge]
// after it was verified (default 5 minutes). A hit repeats, against
// [Config.Now]:
//
//   - "exp": now must be before "exp" plus the leeway;
//   - "nbf" and "iat": now plus the leeway must not be before them;
//   - the key that verified the signature (its kid, alg and RFC 7638
//     thumbprint) must still be in the key set held;
//   - [Config.CheckClaims], if set, is called again with the request's
//     context (the application's policy may depend on the request, or
//     change), and its refusal is answered as on the uncached path.
//
// A hit returns the very [middleware.Claims] the token was verified with,
// to every request that presents the token: they are read-only, as
// package middleware requires of Claims anyway.
//
// A hit that fails one of the first three is a miss: the token is checked
// in full, and refused with the same error as without the cache. The
// signature, "typ", "iss" and "aud" are not checked again: they are
// properties of the token's bytes and of the Validator's configuration,
// neither of which changes. The request's required scopes
// (middleware.Options.RequiredScopes) are checked by the middleware after
// Validate returns, on every request, hit or not.
//
// Key rotation: entries verified with a key that is no longer in the key
// set are dropped when a refresh or refetch stores the new set, and a hit
// checks the key's membership besides, so a removed signing key stops
// working at the next key set refresh, as it does without the cache. A
// hit also starts the background refresh of keys older than
// [Config.RefreshInterval], as a full validation does. [Validator.Close]
// empties the cache.
//
// # Telemetry
//
// A [Validator] reports its key set fetches through the OpenTelemetry API,
// with the meter and tracer "github.com/go-tokenexchange/tokenexchange/middleware/jwt"
// of [Config.MeterProvider] and [Config.TracerProvider] (default: the
// global providers, no-ops until the application installs some).
// Validation itself records nothing per request: package middleware
// counts refusals by reason, a token checked against cached keys starts
// no span, and the verified-token cache keeps atomic counters that
// observable instruments read at collection.
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
//   - tokenexchange.jwt.verified_cache.lookups (Int64ObservableCounter,
//     {lookup}; attribute tokenexchange.lookup = hit | miss): lookups of
//     the verified-token cache. hit: a token answered without being
//     verified again (whether CheckClaims then accepted it or not); miss:
//     a token checked in full (not remembered, or its entry past its
//     lifetime or its key gone). Not reported when the cache is off.
//   - tokenexchange.jwt.verified_cache.entries (Int64ObservableGauge,
//     {entry}): the entries of the verified-token cache, counting some
//     that have expired.
//   - tokenexchange.jwt.verified_cache.evictions (Int64ObservableCounter,
//     {entry}): entries evicted to keep the cache's bounds.
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
