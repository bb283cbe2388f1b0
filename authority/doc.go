// Package authority speaks the OAuth 2.0 wire protocol with one authorization
// server: discovery (RFC 8414 and OpenID Connect Discovery), client
// authentication (RFC 6749 §2.3.1, RFC 7523), the client credentials,
// resource owner password, refresh token and token exchange (RFC 8693)
// grants, and typed errors (RFC 6749 §5.2).
//
// A [Client] is one client registered at one authorization server. Its grant
// methods each make exactly one request to the token endpoint and return a
// [Token] or an error; they never cache. [CachedSource] sits on top of a
// Client and keeps the service's own token: cached, obtained once however many
// goroutines ask at the same moment, renewed before it expires (with the
// refresh token when there is one, a fresh grant when the authorization
// server refuses the refresh), and invalidated on demand after a 401.
//
// Nothing in this package prints a secret: [Token], [Config] and the request
// types redact their credentials in String, GoString, Format and slog output,
// and an [*Error] carries the server's error code and description but never a
// token, a password or a response body beyond a short sanitized excerpt.
package authority
