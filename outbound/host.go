package outbound

import (
	"net/http"
	"strings"
)

// sameHost reports whether req's Host header, when set, names the host and
// port of its URL: the host compared ignoring ASCII case, a missing port
// being the scheme's default. A Host field in req.Header or req.Trailer,
// under any spelling of the name, fails it: see [hasHostField].
func sameHost(req *http.Request) bool {
	if hasHostField(req.Header) || hasHostField(req.Trailer) {
		return false
	}
	h := req.Host
	if h == "" || h == req.URL.Host {
		return true
	}
	host, port := splitHostPort(h)
	if port == "" {
		port = defaultPort(strings.ToLower(req.URL.Scheme))
	}
	uport := req.URL.Port()
	if uport == "" {
		uport = defaultPort(strings.ToLower(req.URL.Scheme))
	}
	return port == uport && asciiEqualFold(host, req.URL.Hostname())
}

// splitHostPort splits a Host header as [url.URL.Hostname] and
// [url.URL.Port] split a URL's host: brackets removed from an IPv6
// address, port "" when there is none.
func splitHostPort(hostPort string) (host, port string) {
	host = hostPort
	if i := strings.LastIndexByte(host, ':'); i >= 0 && validOptionalPort(host[i:]) {
		host, port = host[:i], host[i+1:]
	}
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	return host, port
}

// validOptionalPort reports whether port is "" or ":" followed by digits.
func validOptionalPort(port string) bool {
	if port == "" {
		return true
	}
	if port[0] != ':' {
		return false
	}
	for i := 1; i < len(port); i++ {
		if port[i] < '0' || port[i] > '9' {
			return false
		}
	}
	return true
}

// hasHostField reports whether h has a field named Host in any case. The
// destination is the URL, and Request.Host only: [net/http.Transport]
// ignores a canonical "Host" key but writes any other spelling as it is,
// a second Host line that a server or ingress may route on, and another
// base transport may send even the canonical one. RFC 9110 §6.5.1 forbids
// Host in trailers.
func hasHostField(h http.Header) bool {
	for k := range h {
		if len(k) == len("Host") && asciiEqualFold(k, "Host") {
			return true
		}
	}
	return false
}
