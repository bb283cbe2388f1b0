package main

import (
	"net/http"

	"github.com/go-tokenexchange/tokenexchange/examples/internal/gateway"
)

// newMux mounts the gateway's handlers on an http.ServeMux with method
// and path patterns. Everything but /healthz needs a bearer token.
func newMux(g *gateway.Gateway) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", g.Healthz)
	mux.Handle("GET /summary", g.Authenticate(http.HandlerFunc(g.Summary)))
	proxy := g.Authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.Proxy(w, r, r.PathValue("service"))
	}))
	mux.Handle("/api/{service}", proxy)
	mux.Handle("/api/{service}/", proxy)
	return mux
}
