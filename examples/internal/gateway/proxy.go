package gateway

import (
	"net/http"
	"net/http/httputil"
	"net/url"
	"path"
	"strings"
)

// Proxy forwards r to the downstream of service, keeping the whole path:
// /api/orders/42 goes to URL/api/orders/42. A path that is not in
// canonical form (see canonical) gets 400, an unknown service or a path
// outside /api/SERVICE 404; neither reaches the outbound transport. Mount
// it behind Authenticate, with the service taken from the router's
// {service} path value.
func (g *Gateway) Proxy(w http.ResponseWriter, r *http.Request, service string) {
	if !canonical(r.URL) {
		writeJSONError(w, http.StatusBadRequest, "invalid_request", "the path has dot segments, empty segments or encoded slashes or dots")
		return
	}
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

// canonical reports whether u's path is clean (no dot or empty segments;
// a trailing slash is allowed) and its escaped form encodes no slash,
// backslash or dot. Such a path could name another route than the one it
// was routed by, and the outbound transport, which matches the cleaned
// path, would refuse it as a gateway failure.
func canonical(u *url.URL) bool {
	p := u.Path
	if c := path.Clean(p); c != p && c+"/" != p {
		return false
	}
	esc := u.EscapedPath()
	if !strings.Contains(esc, "%") {
		return true
	}
	esc = strings.ToUpper(esc)
	return !strings.Contains(esc, "%2F") && !strings.Contains(esc, "%5C") && !strings.Contains(esc, "%2E")
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
