package outbound

import (
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/go-tokenexchange/tokenexchange/exchange"
)

// origin is a destination's scheme, lower-case host (IPv6 without
// brackets) and explicit port.
type origin struct {
	scheme, host, port string
}

// route is the validated, precomputed form of a Route.
type route struct {
	name     string // the configured URL, for errors and logs
	prefix   string // clean path prefix without trailing slash; "" matches all
	mode     Mode
	target   *exchange.Prepared
	exchange *exchange.Exchanger
	tokens   TokenSource
	actor    bool // the Target has an Actor

	// last is the Authorization value of the last token sent, so that a
	// hot token is not copied into a new "Bearer " string per request.
	last atomic.Pointer[bearerValue]
}

// table maps an origin to its routes, longest prefix first. It is not
// modified after construction.
type table map[origin][]*route

// newTable validates routes and builds their table.
func newTable(routes []Route, x *exchange.Exchanger) (table, error) {
	t := table{}
	for i, rt := range routes {
		o, r, err := compile(rt, x)
		if err != nil {
			return nil, fmt.Errorf("outbound: Routes[%d] (%q): %w", i, rt.URL, err)
		}
		for _, other := range t[o] {
			if other.prefix == r.prefix {
				return nil, fmt.Errorf("outbound: Routes[%d] (%q): same destination as %q", i, rt.URL, other.name)
			}
			if asciiEqualFold(other.prefix, r.prefix) {
				return nil, fmt.Errorf("outbound: Routes[%d] (%q): same destination as %q for a server that ignores case", i, rt.URL, other.name)
			}
		}
		t[o] = append(t[o], r)
	}
	for _, rs := range t {
		slices.SortFunc(rs, func(a, b *route) int { return cmp.Compare(len(b.prefix), len(a.prefix)) })
	}
	return t, nil
}

// compile validates one route.
func compile(rt Route, x *exchange.Exchanger) (origin, *route, error) {
	o, prefix, err := parseRouteURL(rt.URL)
	if err != nil {
		return o, nil, err
	}
	r := &route{name: rt.URL, prefix: prefix, mode: rt.Mode}
	if rt.Mode != ModeExchange && (rt.Exchanger != nil || !isZeroTarget(rt.Target)) {
		return o, nil, fmt.Errorf("Target and Exchanger are for %s routes only, not %s", ModeExchange, rt.Mode)
	}
	if rt.Mode != ModeOwnToken && rt.Tokens != nil {
		return o, nil, fmt.Errorf("Tokens is for %s routes only, not %s", ModeOwnToken, rt.Mode)
	}
	switch rt.Mode {
	case ModeExchange:
		r.exchange = cmp.Or(rt.Exchanger, x)
		if r.exchange == nil {
			return o, nil, errors.New("exchange route without an Exchanger (set Route.Exchanger or Options.Exchanger)")
		}
		if len(rt.Target.Audiences) == 0 && len(rt.Target.Resources) == 0 {
			return o, nil, errors.New("Target names no audience or resource")
		}
		r.actor = rt.Target.Actor != nil
		if r.target, err = rt.Target.Prepare(); err != nil {
			return o, nil, err
		}
	case ModeOwnToken:
		if rt.Tokens == nil {
			return o, nil, errors.New("own-token route without Tokens")
		}
		r.tokens = rt.Tokens
	case ModePassThrough, ModeNone:
	case 0:
		return o, nil, errors.New("Mode is required")
	default:
		return o, nil, fmt.Errorf("unknown %s", rt.Mode)
	}
	return o, r, nil
}

func isZeroTarget(t exchange.Target) bool {
	return len(t.Audiences) == 0 && len(t.Resources) == 0 && len(t.Scopes) == 0 &&
		t.RequestedTokenType == "" && t.SubjectTokenType == "" && t.Actor == nil && t.ActorTokenType == ""
}

// parseRouteURL splits a Route.URL into its origin and path prefix.
func parseRouteURL(raw string) (origin, string, error) {
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		return origin{}, "", errors.New("URL is required")
	case err != nil:
		return origin{}, "", errors.New("URL does not parse")
	case u.Scheme != "http" && u.Scheme != "https":
		return origin{}, "", errors.New(`URL scheme must be "http" or "https"`)
	case u.Opaque != "" || u.Hostname() == "":
		return origin{}, "", errors.New("URL has no host")
	case u.User != nil:
		return origin{}, "", errors.New("URL must not hold user info")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(raw, "#"):
		return origin{}, "", errors.New("URL must not have a query or fragment")
	case strings.ContainsAny(u.Hostname(), "*"):
		return origin{}, "", errors.New("URL host must not hold a wildcard")
	case !isASCII(u.Hostname()):
		return origin{}, "", errors.New("URL host must be ASCII (use the punycode form of an internationalised name)")
	}
	o, ok := originOf(u)
	if !ok {
		return origin{}, "", errors.New("URL port is not a number")
	}
	prefix := u.Path
	if prefix != "" && prefix != "/" {
		if !strings.HasPrefix(prefix, "/") || path.Clean(prefix) != strings.TrimSuffix(prefix, "/") {
			return origin{}, "", errors.New("URL path is not clean (no //, . or .. segments)")
		}
		if ambiguousPath(prefix, u.EscapedPath()) {
			return origin{}, "", errors.New(`URL path must not hold an escaped "/", "\" or ".", a "\" or a ";"`)
		}
	}
	return o, strings.TrimSuffix(prefix, "/"), nil
}

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

// asciiLower returns s in lower case, without allocating when it already
// is; ok is false when s holds a byte outside ASCII.
func asciiLower(s string) (lower string, ok bool) {
	upper := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			return "", false
		}
		upper = upper || ('A' <= c && c <= 'Z')
	}
	if !upper {
		return s, true
	}
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b), true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// asciiEqualFold reports whether s and t are equal under ASCII case
// folding only (strings.EqualFold also folds non-ASCII letters onto ASCII
// ones, such as U+212A KELVIN SIGN onto "k").
func asciiEqualFold(s, t string) bool {
	if len(s) != len(t) {
		return false
	}
	for i := 0; i < len(s); i++ {
		a, b := s[i], t[i]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}

// match returns the route for u, or nil when no route names it. The error
// is [ErrAmbiguousPath] when u's origin has routes but u's path (or opaque
// form) could reach another destination on the server than the one it
// would match here; such a request must not be sent, with a token or
// without.
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
	if u.Opaque != "" {
		// The request-target is Opaque, not Path: "//other.host/x" is
		// even sent in absolute form, naming another host.
		return nil, ErrAmbiguousPath
	}
	if rs[0].prefix == "" {
		// The origin's only route has no prefix (routes are sorted longest
		// prefix first, and two routes never share one): every path takes
		// it, so there is nothing to confuse.
		return rs[0], nil
	}
	p := u.Path
	if p == "" {
		p = "/"
	}
	if ambiguousPath(p, u.EscapedPath()) {
		return nil, ErrAmbiguousPath
	}
	for _, r := range rs {
		if hasPathPrefix(p, r.prefix) {
			return r, nil
		}
		if hasPathPrefixFold(p, r.prefix) {
			// "/Orders/x" misses "/orders" here but reaches it on a
			// server that ignores case.
			return nil, ErrAmbiguousPath
		}
	}
	return nil, nil
}

// ambiguousPath reports whether a request path p (decoded; escaped is its
// form on the wire) might be read by a server or a proxy in front of it as
// a path under another prefix than p itself: an escaped slash, backslash or
// dot (%2F, %5C, %2E, any case), a backslash, a path parameter (";", as in
// Tomcat's "/billing/..;/orders"), a path that is not clean (".", ".."
// or empty segments; a trailing slash is allowed) or that does not start
// with a slash. It does not allocate for a clean path.
func ambiguousPath(p, escaped string) bool {
	if p[0] != '/' || strings.ContainsAny(p, `\;`) || strings.IndexByte(escaped, '\\') >= 0 {
		return true
	}
	for i := strings.IndexByte(escaped, '%'); i >= 0; {
		if i+2 < len(escaped) {
			switch escaped[i+1 : i+3] {
			case "2F", "2f", "5C", "5c", "2E", "2e":
				return true
			}
		}
		j := strings.IndexByte(escaped[i+1:], '%')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	if p == "/" {
		return false
	}
	c := path.Clean(p)
	return c != p && !(strings.HasSuffix(p, "/") && c == p[:len(p)-1])
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
	return len(p) >= len(prefix) && asciiEqualFold(p[:len(prefix)], prefix) &&
		(len(p) == len(prefix) || p[len(prefix)] == '/')
}
