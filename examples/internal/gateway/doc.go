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
//
// # Several replicas
//
// Replicas of the gateway share a Redis (or Valkey) server with
// -redis-url and -cache-key ([Config.RedisURL], [Config.CacheKeys]; give
// them as TX_REDIS_URL and TX_CACHE_KEY: both are secrets, and no error,
// help text, log or printed Config shows them): the exchanged tokens, in
// an [exchange/rediscache] store encrypted with the first cache key (any
// listed key decrypts, so keys rotate), and the outbound transport's
// refusal windows ([outbound.RefusalMemory]), so that a downstream that
// refuses every fresh token costs the fleet, not each replica, its two
// exchanges per subject and window. Redis trouble never stops a replica:
// it starts with Redis down, and works on its own until Redis answers;
// /readyz does not depend on Redis.
//
// # Listening
//
// The gateway listens on 127.0.0.1:8080 by default ([DefaultListen]):
// loopback only. A container must give -listen :8080 (or TX_LISTEN=:8080)
// to serve on all interfaces.
//
// # Operations
//
// Besides the routes, the example routers mount three endpoints that need
// no token:
//
//   - /healthz ([Gateway.Healthz]): liveness, 200 "ok" while the process
//     serves.
//   - /readyz ([Gateway.Readyz]): readiness, 200 "ready" once the gateway
//     has the authority's metadata (discovery, without -token-url) and,
//     with -jwks-url, its signing keys; otherwise 503 with one line
//     saying what is missing and why. The gateway starts even when the
//     authority is unreachable: [New] tries once, logs a Warn, and keeps
//     trying in the background (1s doubling to 30s); meanwhile requests
//     that need a validated token are answered 503 with Retry-After. A
//     wrong -issuer (discovery answered, but no document for that issuer)
//     still stops the program at startup.
//   - /metrics ([Gateway.Metrics]): the Prometheus text format. Each
//     gateway has its own OpenTelemetry SDK MeterProvider, handed to every
//     component, and the OpenTelemetry Prometheus exporter writes its
//     instruments (tokenexchange_*, named as the library's packages
//     document them, dots turned into underscores) into a registry of its
//     own, beside the Go runtime (go_*) and process (process_*)
//     collectors. Spans go to [Config.TracerProvider] (default the global
//     one, a no-op until the program installs one).
//
// [Run] wraps the router with [Gateway.AccessLog]: one line per request at
// Info, with method, route (the service name, "healthz", "readyz",
// "metrics", "summary" or "unmatched"), status, duration and cache (the
// exchange's cache result, or "none"), and nothing else of the request:
// no path, no query string, no header, no token. -log-level warn silences
// it.
package gateway
