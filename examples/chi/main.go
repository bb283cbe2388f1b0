// Command chi is an API gateway on a chi router: it validates the
// caller's bearer token, forwards /api/{service}/... to the service's
// downstream with a token exchanged for that service (RFC 8693), and
// serves GET /summary, which calls two services itself.
//
// With no flags it starts an embedded authorization server and two demo
// services and walks through the flow:
//
//	go run ./examples/chi
//
// Against a real authority:
//
//	go run ./examples/chi -issuer https://kc.example/realms/demo \
//	  -client-id gateway -client-secret "$SECRET" \
//	  -jwks-url https://kc.example/realms/demo/protocol/openid-connect/certs \
//	  -route '/api/orders=http://127.0.0.1:9001;audience=orders;scope=orders.read'
//
// Run with -help for every flag; each is also an environment variable
// (TX_LISTEN, TX_ISSUER, ...).
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
	code := gateway.Main(ctx, "chi", os.Args[1:], os.Getenv, os.Stdout, os.Stderr, newRouter)
	stop()
	os.Exit(code)
}
