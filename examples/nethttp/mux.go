package main

import (
	"net/http"

	"github.com/go-tokenexchange/tokenexchange/examples/internal/gateway"
)

// newMux mounts the gateway's handlers on an http.ServeMux with method
// and path patterns. Everything but /healthz, /readyz and /metrics needs
// a bearer token. The access log is not the mux's: gateway.Run wraps the
// mux with it.
func newMux(g *gateway.Gateway) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", g.Healthz)
	mux.HandleFunc("GET /readyz", g.Readyz)
	mux.HandleFunc("GET /metrics", g.Metrics)
	mux.Handle("GET /summary", g.Authenticate(http.HandlerFunc(g.Summary)))
	proxy := g.Authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.Proxy(w, r, r.PathValue("service"))
	}))
	mux.Handle("/api/{service}", proxy)
	mux.Handle("/api/{service}/", proxy)
	return mux
}
