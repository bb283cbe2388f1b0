// Package testutil runs a real OAuth 2.0 authorization server and a
// token-checking resource server in-process, for tests and runnable examples:
//
//	as := testutil.NewAuthority(t, testutil.Options{})
//	as.AddClient(testutil.Client{ID: "gateway", Secret: "s3cret", ExchangeAudiences: []string{"orders"}})
//	userToken := as.UserToken("alice", "web-app", "gateway")
//	orders := testutil.NewResourceServer(t, as, "orders")
//	// point the code under test at as.Issuer() (or as.TokenURL()) and orders.URL
//
// Both servers speak plain HTTP on the loopback interface, not TLS (they
// are [httptest.NewServer] servers): their URLs, the issuer and every
// endpoint the discovery document lists start with http://.
//
// [NewAuthority] starts an [httptest.Server] that publishes discovery
// documents (RFC 8414 and OpenID Connect), a JWKS, and a token endpoint that
// implements client credentials, password, refresh token and token exchange
// (RFC 8693) grants. Access tokens are JWTs signed with RS256 or ES256.
// Clients authenticate with client_secret_basic, client_secret_post,
// private_key_jwt (RFC 7523, optionally bound to a certificate's x5t#S256
// as Entra ID does) or not at all (public clients). Faults (HTTP
// errors, malformed bodies, dropped connections, delays) can be queued with
// [Authority.InjectFaults], and counters record what the endpoint saw.
//
// The authority also serves RFC 7662 introspection
// ([Authority.IntrospectionURL]) and RFC 7009 revocation
// ([Authority.RevocationURL]), both with client authentication as at the
// token endpoint, and advertised in discovery. It issues opaque tokens on
// request ([Authority.IssueOpaqueToken], or [Client].OpaqueTokens for
// everything issued to a client), which introspection describes and the
// token exchange grant accepts as subjects; [Authority.Revoke] revokes a
// JWT or an opaque token, [Authority.FailIntrospection] queues faults for
// the introspection endpoint, and [Fault].Hold holds an answer until the
// test releases it.
//
// [NewResourceServer] starts a downstream API that verifies bearer tokens
// against an [Authority] and records every request it receives.
//
// Both servers copy the shape of httptest.Server: an exported URL, Client,
// Close, and registration with testing.TB Cleanup when given a non-nil TB.
// They are safe for concurrent use and hold no package-level state.
package testutil

// Grant types accepted by the token endpoint.
const (
	GrantClientCredentials = "client_credentials"
	GrantPassword          = "password"
	GrantRefreshToken      = "refresh_token"
	GrantTokenExchange     = "urn:ietf:params:oauth:grant-type:token-exchange"
)

// Token type identifiers from RFC 8693 §3.
const (
	TokenTypeAccessToken  = "urn:ietf:params:oauth:token-type:access_token"
	TokenTypeJWT          = "urn:ietf:params:oauth:token-type:jwt"
	TokenTypeRefreshToken = "urn:ietf:params:oauth:token-type:refresh_token"
)

// ClientAssertionTypeJWTBearer is the client_assertion_type of RFC 7523 §2.2,
// required with private_key_jwt client authentication.
const ClientAssertionTypeJWTBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// Client authentication methods (RFC 7591 token_endpoint_auth_method values).
const (
	AuthClientSecretBasic = "client_secret_basic"
	AuthClientSecretPost  = "client_secret_post"
	AuthPrivateKeyJWT     = "private_key_jwt"
	AuthNone              = "none"
)
