package outbound

import (
	"cmp"
	"net/url"
	"strings"
)

// originOf returns u's origin, with the scheme's default port when u has
// none. It does not allocate when u's scheme and host are lower case. A
// host with a byte outside ASCII has no origin: the dialer would look up
// its IDNA (punycode) form, which is another name than the one compared
// here (strings.ToLower maps U+212A KELVIN SIGN to "k").
func originOf(u *url.URL) (origin, bool) {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		port = defaultPort(scheme)
	}
	for i := 0; i < len(port); i++ {
		if port[i] < '0' || port[i] > '9' {
			return origin{}, false
		}
	}
	host, ok := asciiLower(u.Hostname())
	if !ok {
		return origin{}, false
	}
	return origin{scheme: scheme, host: host, port: port}, true
}

// defaultPort is the port of scheme when a URL names none.
func defaultPort(scheme string) string {
	switch scheme {
	case "https":
		return "443"
	case "http":
		return "80"
	}
	return ""
}

// match returns the route for u, or nil when no route names it. The error
// is [ErrAmbiguousPath] when u's origin has routes and some plausible
// reading of u's path by a server or an intermediary (see agree)
// selects another route, or no route, than u.Path itself does; such a
// request must not be sent, with a token or without. It does not allocate
// for a path that needs no other reading than itself (see plainPath).
func (t table) match(u *url.URL) (*route, error) {
	if len(t) == 0 || u == nil {
		return nil, nil
	}
	o, ok := originOf(u)
	if !ok {
		return nil, nil
	}
	rs := t[o]
	if len(rs) == 0 {
		return nil, nil
	}
	if u.Opaque == "*" && u.Path == "" {
		return hostRoute(rs), nil // "OPTIONS *": the server as a whole
	}
	if u.Opaque != "" {
		// The request-target is Opaque, not Path: "//other.host/x" is
		// even sent in absolute form, naming another host.
		return nil, ErrAmbiguousPath
	}
	if rs[0].prefix == "" {
		// The origin's only route has no prefix (routes are sorted longest
		// prefix first, and two routes never share one): every reading of
		// every path takes it, so there is nothing to confuse.
		return rs[0], nil
	}
	p := u.Path
	switch p {
	case "":
		p = "/"
	case "*":
		return hostRoute(rs), nil
	}
	lit, folded := pick(rs, p)
	if folded != lit {
		// "/Orders/x" misses "/orders" here but reaches it on a server
		// that ignores case.
		return nil, ErrAmbiguousPath
	}
	if plainPath(p, u.RawPath) {
		return lit, nil
	}
	if !agree(rs, lit, p, u.EscapedPath()) {
		return nil, ErrAmbiguousPath
	}
	return lit, nil
}

// hostRoute returns the route of rs without a path prefix, or nil.
func hostRoute(rs []*route) *route {
	if r := rs[len(rs)-1]; r.prefix == "" {
		return r
	}
	return nil
}

// pick returns the route the path s selects (the longest prefix s is at or
// below) and the one it selects when ASCII case is ignored.
func pick(rs []*route, s string) (exact, folded *route) {
	for _, r := range rs {
		if hasPathPrefix(s, r.prefix) {
			return r, cmp.Or(folded, r) // an exact match is a folded one
		}
		if folded == nil && hasPathPrefixFold(s, r.prefix) {
			folded = r
		}
	}
	return nil, folded
}

// hasPathPrefix reports whether p is prefix or below it.
func hasPathPrefix(p, prefix string) bool {
	if prefix == "" {
		return true
	}
	return strings.HasPrefix(p, prefix) && (len(p) == len(prefix) || p[len(prefix)] == '/')
}

// hasPathPrefixFold is hasPathPrefix ignoring ASCII case.
func hasPathPrefixFold(p, prefix string) bool {
	if prefix == "" {
		return true
	}
	return len(p) >= len(prefix) && asciiEqualFold(p[:len(prefix)], prefix) &&
		(len(p) == len(prefix) || p[len(prefix)] == '/')
}
