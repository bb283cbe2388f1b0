// Package middleware authenticates inbound HTTP requests that carry an OAuth 2.0
// bearer token (RFC 6750) and makes the token available to the rest of the
// request: to handlers, and to the outbound transport that exchanges it for
// tokens meant for downstream services.
//
//	v, err := jwt.New(ctx, jwt.Config{Issuer: issuer, Audience: []string{"orders"}}) // package middleware/jwt
//	if err != nil { ... }
//	defer v.Close()
//	protect := middleware.Bearer(middleware.Options{Validator: v, RequiredScopes: []string{"orders:read"}})
//	mux.Handle("GET /orders/{id}", protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
//		claims, _ := middleware.ClaimsFromContext(r.Context()) // claims.Subject, claims.Scopes, claims.Decode(&mine)
//		...
//	})))
//
// [Bearer] returns a middleware of the shape func(http.Handler) http.Handler, so it
// serves chi's Router.Use, a plain [http.ServeMux] and any router that accepts that
// shape. It extracts exactly one "Authorization: Bearer" header (RFC 6750 §2.1),
// refuses tokens sent in the query string or in an already parsed form body, and
// answers refusals as RFC 6750 §3 prescribes:
//
//   - no credentials: 401 with WWW-Authenticate: Bearer realm="api" and no error code;
//   - malformed request: 400 invalid_request;
//   - bad, expired or unverifiable token: 401 invalid_token;
//   - token without the required scopes: 403 insufficient_scope.
//
// A token that could not be validated now, because the validator could not
// reach what it needs (the key set, an introspection endpoint), is not
// refused: it is answered 503 Service Unavailable with Retry-After when the
// delay is known (see [ErrUnavailable]).
//
// Validation is pluggable: [Options.Validator] takes any [Validator], whose
// one method turns the token into [Claims] or an error. Package
// middleware/jwt implements it for JWTs signed by the authorization
// server's keys (issuer, audience, expiry, "typ" and a policy hook); an
// RFC 7662 introspection client reads the endpoint's answer with
// [ParseClaims]. This package itself imports no JOSE library. Without a
// Validator, tokens are opaque and pass on unchanged, for the authorization
// server to judge when it exchanges them.
//
// [ByShape] combines two Validators: JWT-shaped tokens to one (package
// middleware/jwt), any other token to another (RFC 7662 introspection), for
// an authorization server that issues both kinds.
//
// A protected resource can describe itself (RFC 9728): a
// [ProtectedResourceHandler] serves its [ProtectedResource] metadata at the
// well-known path of its identifier, and [Options.ResourceMetadata] adds
// that URL to every challenge as resource_metadata, from which clients
// (MCP clients, for one) learn where to get a token.
//
// [TokenFromContext], [SubjectFromContext] and [ClaimsFromContext] read what
// the middleware stored; [NewContext] stores a token for code that does not
// run behind the middleware, such as a queue worker acting for a user.
//
// Refusals are [*Error] values that wrap a sentinel such as [ErrExpired]; neither
// their messages nor the responses ever contain the token.
//
// # Telemetry
//
// [Bearer] reports through the OpenTelemetry metric API, on the meter
// "github.com/go-tokenexchange/tokenexchange/middleware" of
// [Options.MeterProvider] (default: the global provider, a no-op until the
// application installs one):
//
//   - tokenexchange.inbound.requests (Int64Counter, {request}; attribute
//     tokenexchange.outcome = accepted | anonymous | refused): every request
//     the middleware handled. accepted: a token passed (and was validated,
//     with a Validator); anonymous: no Authorization header, let through by
//     [Options.Optional]; refused: answered with an error, 503 included.
//   - tokenexchange.inbound.refusals (Int64Counter, {request}; attribute
//     tokenexchange.reason): the refused requests by why: missing_token,
//     unsupported_scheme, malformed_header, multiple_headers,
//     token_too_large, token_in_query (the sentinels of the same names),
//     invalid_token (ErrMalformedToken to ErrInvalidAudience, or a
//     Validator's [*Error] with code invalid_token that wraps no sentinel),
//     insufficient_scope, unavailable ([ErrUnavailable], answered 503),
//     rejected ([ErrRejected], a validator's policy hook), or other (a
//     Validator's error that is neither a sentinel nor an *Error, or no
//     claims).
//
// The middleware starts no span: the application's HTTP server
// instrumentation owns the request's span. A refusal adds the event
// "tokenexchange.inbound.refused", with the tokenexchange.reason
// attribute, to the span of the request's context, if it has one.
// Attribute values come from these closed sets only: never a token, a
// subject, a path or a validator's error text. The success path records
// with attribute sets precomputed by Bearer, allocating nothing.
package middleware
