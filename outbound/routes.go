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
		// A prefix is written as it is sent, so that the escaped reading
		// of a request path (see agree) selects it too.
		if strings.IndexByte(prefix, ';') >= 0 || u.EscapedPath() != prefix {
			return origin{}, "", errors.New(`URL path must not hold a ";", an escaped (percent-encoded) character or one that needs escaping, such as "\", "%" or a space`)
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

// plainPath reports whether the request path p (decoded; raw is
// [url.URL.RawPath]) reads the same to every server and intermediary: it
// starts with "/"; holds no "%", "\", ";", or "?", "#" or NUL (which only
// decoding puts in a path); has no empty segment ("//") and no "." or ".."
// segment; and no "%" was decoded from its escaped form (RawPath). Route
// prefixes hold no character that needs escaping (parseRouteURL), so
// such a path's escaped form selects the same route as p, and so do p
// decoded again, with ";params" stripped, "\" read as "/", cut at a "?",
// or cleaned: they are all p.
func plainPath(p, raw string) bool {
	if p[0] != '/' || strings.IndexByte(raw, '%') >= 0 || strings.IndexAny(p, "%\\;?#\x00") >= 0 || strings.Contains(p, "//") {
		return false
	}
	for i := strings.Index(p, "/."); i >= 0; {
		switch seg := p[i+1:]; {
		case seg == "." || seg == "..", strings.HasPrefix(seg, "./"), strings.HasPrefix(seg, "../"):
			return false
		}
		j := strings.Index(p[i+2:], "/.")
		if j < 0 {
			break
		}
		i += 2 + j
	}
	return true
}

// agree reports whether every reading of the request path p (decoded;
// escaped is its form on the wire) that a server, or a proxy in front of
// it, might take it for selects lit, with and without regard to ASCII
// case. The readings, built one at a time so that a long path costs a
// few copies of it at once, not one per reading:
//
//   - the bases: p; escaped, undecoded; p decoded once more ("%2561" sent
//     is "%61" in p, and "a" to a server that decodes twice); and each of
//     those cut at a "?", "#" or NUL, which only decoding produces (as a
//     proxy that decodes the path and sends it on unescaped would cut it,
//     or a server written in C);
//   - of each base: itself, "\" read as "/", ";params" stripped from every
//     segment (before and after reading "\" as "/");
//   - of each of those, with "/" prepended when it does not start with one,
//     the path itself and its [path.Clean] form.
func agree(rs []*route, lit *route, p, escaped string) bool {
	same := func(v string) bool {
		if !strings.HasPrefix(v, "/") {
			v = "/" + v
		}
		for _, s := range [2]string{v, path.Clean(v)} {
			if e, f := pick(rs, s); e != lit || f != lit {
				return false
			}
		}
		return true
	}
	base := func(b string) bool {
		slashed := strings.ReplaceAll(b, `\`, "/")
		if !same(b) || (slashed != b && !same(slashed)) {
			return false
		}
		if strings.IndexByte(b, ';') < 0 {
			return true
		}
		stripped := stripParams(b)
		return same(stripped) && same(stripParams(slashed)) && same(strings.ReplaceAll(stripped, `\`, "/"))
	}
	bases := [3]string{p, escaped, p}
	if strings.IndexByte(p, '%') >= 0 {
		bases[2] = unescapeLenient(p)
	}
	for i, b := range bases {
		if i > 0 && b == p {
			continue
		}
		if !base(b) {
			return false
		}
		if j := strings.IndexAny(b, "?#\x00"); j >= 0 && !base(b[:j]) {
			return false
		}
	}
	return true
}

// stripParams removes the parameters (";" up to the next "/") from every
// segment of p, as Tomcat and other servlet containers do.
func stripParams(p string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(p, ';')
		if i < 0 {
			b.WriteString(p)
			return b.String()
		}
		b.WriteString(p[:i])
		p = p[i:]
		j := strings.IndexByte(p, '/')
		if j < 0 {
			return b.String()
		}
		p = p[j:]
	}
}

// unescapeLenient decodes every valid %XX in s and leaves any other "%" as
// it is.
func unescapeLenient(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			if b == nil {
				b = append(make([]byte, 0, len(s)), s[:i]...)
			}
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		if b != nil {
			b = append(b, c)
		}
	}
	if b == nil {
		return s
	}
	return string(b)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
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
