// Package gateway assembles the example API gateways of examples/chi and
// examples/nethttp: configuration from flags and environment variables,
// the authority client, the token exchanger, the outbound transport, the
// inbound bearer middleware, the reverse proxy and the fan-out handler.
// The two examples differ only in the router that mounts the handlers.
//
// With no authority configured, [Run] starts an embedded demo: the
// testutil authorization server and two downstream services on loopback,
// and walks through the flow once before it keeps serving.
//
// Routes have the form
//
//	/api/SERVICE=URL[;audience=A][;scope=S][;resource=R][;mode=M][;actor=true]
//
// where SERVICE is one path segment of letters, digits and -_.~ (see
// [ParseRoute]). A request for /api/SERVICE/rest is forwarded to
// URL/api/SERVICE/rest: the gateway strips nothing from the path. A path
// with dot segments or encoded slashes, dots or backslashes is refused
// with 400 before it is forwarded.
//
// The gateway authenticates at the authority with a client secret, or
// with private_key_jwt (Keycloak's "Signed JWT" clients) when
// [Config.ClientKey] holds its private key, which [ParseFlags] reads from
// the -client-key file with the standard library: PEM (PKCS#8, PKCS#1 RSA
// or SEC1 EC) or a JWK. [Config.ClientCert], from -client-cert, is the
// certificate registered for that key, sent as x5t#S256 (Entra ID's
// certificate credentials require it).
//
// Without a JWKS URL the gateway does not validate inbound tokens; only
// exchange routes are then allowed (the authority refuses a bad subject
// token), unless [Config.InsecureSkipValidation] is set.
package gateway
