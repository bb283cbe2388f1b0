// Package authority speaks the OAuth 2.0 wire protocol with one authorization
// server:
//
//	client, err := authority.New(authority.Config{
//		Issuer:       "https://login.example.com/realms/demo", // discovery finds the token endpoint
//		ClientID:     "gateway",
//		ClientSecret: os.Getenv("CLIENT_SECRET"),
//	})
//	if err != nil { ... }
//	tok, err := client.Exchange(ctx, authority.ExchangeRequest{
//		SubjectToken: userToken,
//		Audiences:    []string{"orders"},
//	})
//
// It covers discovery (RFC 8414 and OpenID Connect Discovery), client
// authentication (RFC 6749 §2.3.1, RFC 7523), the client credentials,
// resource owner password, refresh token and token exchange (RFC 8693)
// grants, and typed errors (RFC 6749 §5.2). It depends on the standard
// library, golang.org/x/sync and the OpenTelemetry API only.
//
// A [Client] is one client registered at one authorization server. Its grant
// methods each make exactly one request to the token endpoint and return a
// [Token] or an error; they never cache. [CachedSource] sits on top of a
// Client and keeps the service's own token: cached, obtained once however many
// goroutines ask at the same moment, renewed before it expires (with the
// refresh token when there is one, a fresh grant when the authorization
// server refuses the refresh), and invalidated on demand after a 401. It is
// one [TokenSource]; package xoauth2 (authority/xoauth2) adapts token
// sources between this package and golang.org/x/oauth2 for the programs
// that use it.
//
// # Client keys
//
// A client that authenticates with private_key_jwt (Keycloak's "Signed
// JWT", Entra ID's certificate credentials) gives its key as
// [Config.Signer], any crypto.Signer over an RSA, EC or Ed25519 key: an
// in-memory key from crypto/x509, or an HSM or cloud KMS client. The
// assertion is signed with the standard library; [Config.KeyID] names the
// key and [Config.Certificate] sends the certificate's x5t#S256
// thumbprint, which Entra ID requires.
//
// # Errors
//
// A grant fails with an [*Error] when the authorization server refuses it
// or answers with something that is not a usable token; errors.Is matches
// its code against the [ErrorCode] constants ([ErrInvalidGrant],
// [ErrInvalidClient], ...). Network failures, timeouts and replies cut
// short are returned wrapped with %w, and so is the caller's ctx error.
// [IsTemporary] and [IsPermanent] tell whether asking again may help.
// Invalid input (an empty subject token, a bad Config) is refused before
// any request with an error that names the field. No error holds a token
// or a secret.
//
// # Telemetry
//
// A Client reports through the OpenTelemetry API, to the providers of
// [Config.MeterProvider], [Config.TracerProvider] and [Config.Propagator]
// (the global ones when nil: no-ops until the application installs its
// own). The meter and the tracer are named
// "github.com/go-tokenexchange/tokenexchange/authority".
//
// Metrics:
//
//   - tokenexchange.authority.request.duration (float64 histogram, "s";
//     tokenexchange.grant, tokenexchange.outcome,
//     tokenexchange.oauth.error): each request to the token endpoint, by
//     every grant method and every [CachedSource]; discovery, when the
//     first request runs it, is included. Each [Client.Introspect] is
//     recorded here too, under tokenexchange.grant "introspection".
//   - tokenexchange.token_source.renewals (int64 counter, "{renewal}";
//     tokenexchange.grant, tokenexchange.outcome): renewals of a
//     [CachedSource]'s token that asked the authority, by the grant used
//     last (a renewal whose refresh token was refused counts once, under
//     the grant that followed).
//
// Spans:
//
//   - tokenexchange.authority.token (client): one request to the token
//     endpoint, a child of the span in the caller's context (for an
//     exchange, the exchanger's); the request carries its context in the
//     Propagator's headers (W3C traceparent with
//     propagation.TraceContext). Attributes: tokenexchange.grant,
//     tokenexchange.outcome, tokenexchange.oauth.error,
//     http.response.status_code when there was a reply, server.address
//     (the token endpoint's host).
//   - tokenexchange.authority.introspect (client): one request to the
//     introspection endpoint ([Client.Introspect]), with the attributes of
//     tokenexchange.authority.token (tokenexchange.grant "introspection";
//     server.address is the introspection endpoint's host); the request
//     carries its context in the Propagator's headers.
//   - tokenexchange.authority.discovery (client): the Client's discovery,
//     with tokenexchange.outcome and server.address (the issuer's host).
//   - tokenexchange.token_source.renew (internal): a renewal of a
//     [CachedSource] that asks the authority, the parent of its token
//     requests. A renewal is shared and runs on its own context, so its
//     span is a new root, linked to the span of the caller that started
//     it. Attributes: tokenexchange.grant, tokenexchange.outcome,
//     tokenexchange.background (true for a refresh ahead of expiry, which
//     no caller waits for); an event "refresh token refused; fresh grant"
//     when the refresh token was refused.
//
// Attribute values come from closed sets: tokenexchange.grant is
// token_exchange, client_credentials, password, refresh_token, jwt_bearer
// or other; tokenexchange.outcome is success, refused (a permanent
// refusal, [IsPermanent]), error (anything that may pass: 5xx, network,
// timeout) or canceled (the caller's context); tokenexchange.oauth.error
// is [ErrorCodeOf] of the error, absent when it is "". A failed span has
// status Error with the error code or the outcome as its description,
// never the error's text. No token, secret, subject or text from the
// authority is ever an attribute.
//
// Logs go to [Config.Logger] for what happens in the background, where no
// caller sees an error, rate-limited to one record of a kind a minute on
// the source's clock (the next says how many were "suppressed"): Warn when
// a background renewal fails (with "grant", "code", "failures",
// "retry_in" and the sanitized "error"), when a refresh token is refused
// and a fresh grant follows, and when the authority issues a token
// without lifetime; Info when renewals succeed again after failures;
// Debug for a routine renewal. No record holds a token or a secret; the
// authority's description, which may name a user, appears only inside
// the sanitized "error" of a Warn record.
//
// Nothing in this package prints a secret: [Token], [Config] and the request
// types redact their credentials in String, GoString, Format and slog output,
// and an [*Error] carries the server's error code and description but never a
// token, a password or a response body beyond a short sanitized excerpt.
package authority
