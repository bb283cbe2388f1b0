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
package jwt
