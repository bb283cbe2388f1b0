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
// library and golang.org/x/sync only.
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
// Nothing in this package prints a secret: [Token], [Config] and the request
// types redact their credentials in String, GoString, Format and slog output,
// and an [*Error] carries the server's error code and description but never a
// token, a password or a response body beyond a short sanitized excerpt.
package authority
