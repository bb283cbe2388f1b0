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
// Against a real authority, see -help; every flag is also an environment
// variable (TX_LISTEN, TX_ISSUER, ...).
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
