// Package middleware authenticates inbound HTTP requests that carry an OAuth 2.0
// bearer token (RFC 6750) and makes the token available to the rest of the
// request: to handlers, and to the outbound transport that exchanges it for
// tokens meant for downstream services.
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
// With a [Validator] the token must be a JWT signed by a key from the
// authorization server's JWKS (found directly or by discovery), issued by the
// configured issuer for one of the configured audiences and within its validity
// period. Without one, tokens are opaque and pass on unchanged. An ID token
// whose "aud" happens to name this service is a valid JWT from the issuer too:
// refuse it with [ValidatorConfig.Types] (header "typ" "at+jwt", RFC 9068) when
// the authorization server marks access tokens so, or else with
// [ValidatorConfig.CheckClaims] (for Keycloak, the claim "typ" is "Bearer" for
// access tokens and "ID" for ID tokens). Its "exp", "nbf" and "iat" must be
// JSON numbers (RFC 7519 §2): a string of digits is refused. A Validator
// refreshes its keys in the background: call [Validator.Close] when done.
//
// [TokenFromContext] and [ClaimsFromContext] read what the middleware stored;
// [NewContext] stores a token for code that does not run behind the middleware,
// such as a queue worker acting for a user.
//
// Refusals are [*Error] values that wrap a sentinel such as [ErrExpired]; neither
// their messages nor the responses ever contain the token.
package middleware
