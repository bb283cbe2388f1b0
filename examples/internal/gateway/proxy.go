package gateway

import (
	"net/http"
	"net/http/httputil"
	"strings"
)

// newProxy returns the reverse proxy of one route: it sends the request,
// path unchanged, to the route's URL over t.
func newProxy(r Route, t http.RoundTripper, onError func(http.ResponseWriter, *http.Request, error)) *httputil.ReverseProxy {
	target := r.URL
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
		},
		Transport:    t,
		ErrorHandler: onError,
	}
}

// Proxy forwards r to the downstream of service, keeping the whole path:
// /api/orders/42 goes to URL/api/orders/42. An unknown service, or a path
// outside /api/SERVICE, gets 404. Mount it behind Authenticate, with the
// service taken from the router's {service} path value.
func (g *Gateway) Proxy(w http.ResponseWriter, r *http.Request, service string) {
	p, ok := g.proxies[service]
	if !ok || !underPrefix(r.URL.Path, p.prefix) {
		writeJSONError(w, http.StatusNotFound, "not_found", "no such service")
		return
	}
	p.proxy.ServeHTTP(w, r)
}

// routeProxy is the reverse proxy of one route and the route's prefix.
type routeProxy struct {
	prefix string
	proxy  *httputil.ReverseProxy
}

// underPrefix reports whether path is prefix or below it.
func underPrefix(path, prefix string) bool {
	rest, ok := strings.CutPrefix(path, prefix)
	return ok && (rest == "" || rest[0] == '/')
}

// writeJSONError writes a small JSON error body.
func writeJSONError(w http.ResponseWriter, status int, code, description string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"error":"` + code + `","error_description":"` + description + `"}` + "\n"))
}
