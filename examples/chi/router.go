package main

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/go-tokenexchange/tokenexchange/examples/internal/gateway"
)

// newRouter mounts the gateway's handlers on a chi router. Everything
// but /healthz, /readyz and /metrics needs a bearer token. The access log
// is not the router's: gateway.Run wraps the router with it.
func newRouter(g *gateway.Gateway) http.Handler {
	r := chi.NewRouter()
	r.Get("/healthz", g.Healthz)
	r.Get("/readyz", g.Readyz)
	r.Get("/metrics", g.Metrics)
	r.Group(func(r chi.Router) {
		r.Use(g.Authenticate)
		r.Get("/summary", g.Summary)
		proxy := func(w http.ResponseWriter, r *http.Request) {
			g.Proxy(w, r, chi.URLParam(r, "service"))
		}
		r.HandleFunc("/api/{service}", proxy)
		r.HandleFunc("/api/{service}/*", proxy)
	})
	return r
}
