package outbound

import (
	"path"
	"strings"
)

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
