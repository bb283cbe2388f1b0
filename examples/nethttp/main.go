// Command nethttp is an API gateway on the standard library's
// http.ServeMux: it validates the caller's bearer token, forwards
// /api/{service}/... to the service's downstream with a token exchanged
// for that service (RFC 8693), and serves GET /summary, which calls two
// services itself.
//
// With no flags it starts an embedded authorization server and two demo
// services and walks through the flow:
//
//	go run ./examples/nethttp
//
// Against a real authority (the client secret in the environment: a
// -client-secret flag shows in ps and in the shell history):
//
//	export TX_CLIENT_SECRET=...
//	go run ./examples/nethttp -issuer https://kc.example/realms/demo \
//	  -client-id gateway \
//	  -jwks-url https://kc.example/realms/demo/protocol/openid-connect/certs \
//	  -route '/api/orders=http://127.0.0.1:9001;audience=orders;scope=orders.read'
//
// For a client that authenticates with a signed JWT (private_key_jwt,
// Keycloak's "Signed JWT"), give its private key instead of a secret:
// -client-key key.pem (PEM: PKCS#8, PKCS#1 RSA or SEC1 EC; or a JWK in
// JSON), and -client-key-id KID when the authority needs a kid the file
// lacks; -client-cert cert.pem when the key is registered as a
// certificate (Entra ID), to send its x5t#S256.
//
// A route is PREFIX=URL[;audience=A][;scope=S][;resource=R][;mode=M][;actor=true].
// PREFIX is /api/NAME, NAME one path segment of letters, digits and
// -_.~; a request for /api/NAME/rest goes to URL/api/NAME/rest (nothing
// is stripped). M is exchange (default), passthrough, client or none;
// the last three need inbound validation: -jwks-url, introspection
// (-introspection-url, or -introspect with the issuer's discovery), or
// both (or -insecure-skip-validation, for trials). -protected-resource URL
// serves the RFC 9728 metadata of URL and names it in every challenge;
// -dialect entra-obo exchanges by Microsoft Entra ID On-Behalf-Of.
//
// Run with -help for every flag; each is also an environment variable
// (TX_LISTEN, TX_ISSUER, ...; TX_ROUTE holds one route per line).
// -log-level debug shows why inbound tokens are refused.
//
// It listens on 127.0.0.1:8080, loopback only; in a container give
// -listen :8080 (or TX_LISTEN=:8080) to serve on all interfaces.
//
// Without a token: GET /healthz (liveness, always 200), GET /readyz (200
// "ready" once the authority's metadata and signing keys are loaded, else
// 503 with the reason; the gateway starts, and keeps retrying, when the
// authority is unreachable) and GET /metrics (Prometheus text format: the
// library's tokenexchange_* instruments through OpenTelemetry, and the Go
// runtime and process metrics). Each request is logged in one line at
// Info (method, route, status, duration, cache result; never the path,
// query or token); -log-level warn silences it.
//
//	go run ./examples/nethttp -listen 127.0.0.1:8081 &
//	curl -s http://127.0.0.1:8081/readyz
//	curl -s http://127.0.0.1:8081/metrics | grep tokenexchange_
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/go-tokenexchange/tokenexchange/examples/internal/gateway"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := gateway.Main(ctx, "nethttp", os.Args[1:], os.Getenv, os.Stdout, os.Stderr, newMux)
	stop()
	os.Exit(code)
}
