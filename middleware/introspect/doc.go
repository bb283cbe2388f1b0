// Package introspect validates inbound bearer tokens by OAuth 2.0 Token
// Introspection (RFC 7662) for package middleware: its [Validator]
// implements [middleware.Validator], for opaque tokens, or for JWTs that
// must stop working the moment they are revoked.
//
//	client, err := authority.New(authority.Config{
//		Issuer:       "https://auth.example.com", // introspection_endpoint by discovery
//		ClientID:     "gateway",
//		ClientSecret: secret,
//	})
//	v, err := introspect.New(ctx, introspect.Config{Client: client, Audience: []string{"gateway"}})
//	defer v.Close()
//	handler = middleware.Bearer(middleware.Options{Validator: v})(handler)
//
// The [authority.Client] makes the request (POST of the token with the
// gateway's client authentication: client_secret_basic, client_secret_post
// or private_key_jwt). The answer must be a JSON object with "active":
// true, "iss" equal to the configured issuer, "aud" naming one of the
// configured audiences (when any is configured), and "exp", "nbf" and
// "iat" that the clock accepts (within [Config.Leeway]). It must describe
// an access token: a server may ignore token_type_hint and answer active
// for a refresh or ID token (Keycloak does), so an answer whose
// "token_type" is present and not "Bearer", or whose "typ" claim is
// present and not "Bearer" (Keycloak), "at+jwt" or "application/at+jwt"
// (RFC 9068), is refused ([middleware.ErrInvalidType]), with or without
// an audience check. Its claims
// become the request's [middleware.Claims] (required scopes are then
// checked by middleware.Bearer, as for JWTs).
//
// # Cache and revocation
//
// Answers are cached by the token's SHA-256, which the middleware computes
// once per request ([authority.SubjectToken.Digest]); no token is ever a
// key. An active answer is reused until the earlier of its "exp" and
// [Config.MaxAge] (default 30 s) after the introspection: a token revoked
// at the authorization server is refused at most MaxAge later. A refusal
// (inactive, or claims or token type refused) is reused for [Config.InactiveMaxAge]
// (default 5 s), in a cache of its own bound. A failure (the endpoint
// unreachable, 5xx, a timeout, malformed JSON, an HTML page, the
// gateway's credentials refused) is never cached and never lets a token
// through: it is a 503 wrapping [middleware.ErrUnavailable], with the
// endpoint's Retry-After when it sent one.
//
// However many requests carry a new token at once, one introspection is
// made: the others wait for it, each on its own context. The
// introspection runs detached from the requests' cancellation, under
// [Config.Timeout]; at most [Config.MaxInFlight] run at once, and a
// request that would start another is answered 503 ([ErrBusy]).
//
// # Telemetry
//
// A [Validator] reports through the OpenTelemetry API, with the meter and
// tracer "github.com/go-tokenexchange/tokenexchange/middleware/introspect"
// of [Config.MeterProvider] and [Config.TracerProvider] (default: the
// global providers). A cached answer records nothing but atomic counters,
// which observable instruments read at collection. No attribute holds a
// token or a claim.
//
// Metrics:
//
//   - tokenexchange.introspect.lookups (Int64ObservableCounter, {lookup};
//     tokenexchange.lookup = hit | negative_hit | miss | coalesced): hit,
//     an active answer from the cache; negative_hit, a refusal from the
//     cache; miss, a request that started an introspection; coalesced, one
//     that joined an introspection in flight.
//   - tokenexchange.introspect.introspections (Int64ObservableCounter,
//     {introspection}; tokenexchange.outcome = active | inactive | refused
//     | unavailable): the validator's introspections; refused: active, but
//     the claims (or the token's type) were refused; unavailable: the
//     introspection failed.
//   - tokenexchange.introspect.duration (Float64Histogram, s;
//     tokenexchange.outcome): their duration, checks included.
//   - tokenexchange.introspect.in_flight (Int64ObservableGauge,
//     {introspection}): introspections in flight.
//   - tokenexchange.introspect.busy (Int64ObservableCounter, {request}):
//     requests answered 503 because MaxInFlight introspections ran.
//   - tokenexchange.introspect.cache.entries (Int64ObservableGauge,
//     {entry}; tokenexchange.lookup = hit for active answers,
//     negative_hit for refusals): entries of the caches.
//   - tokenexchange.introspect.cache.evictions (Int64ObservableCounter,
//     {entry}): active answers evicted to keep the cache's bounds.
//
// The [authority.Client] records each request too, in
// tokenexchange.authority.request.duration with tokenexchange.grant
// "introspection".
//
// Spans:
//
//   - tokenexchange.introspect (internal): one introspection, a child of
//     the span of the request that started it, with tokenexchange.outcome;
//     the Client's tokenexchange.authority.introspect (client) span is its
//     child.
package introspect
