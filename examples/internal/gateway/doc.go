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
// (see [ParseRoute]). A request for /api/SERVICE/rest is forwarded to
// URL/api/SERVICE/rest: the gateway strips nothing from the path.
package gateway
