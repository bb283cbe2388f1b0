package outbound

import (
	"path"
	"strings"
)

// plainPath reports whether the request path p (decoded; raw is
// [url.URL.RawPath]) reads the same to every server and intermediary: it
// starts with "/"; holds no "%", "\", ";", or "?", "#", a control
// character or a byte outside ASCII (which only decoding, or a caller
// setting Path, puts in a path); has no empty segment ("//") and no
// segment ending in "." or " " (which covers "." and ".."); and no "%" was
// decoded from its escaped form (RawPath). Route prefixes hold no
// character that needs escaping (parseRouteURL), so such a path's escaped
// form selects the same route as p, and so do p decoded again, with
// ";params" stripped, "\" read as "/", cut at a "?", cleaned, with
// Unicode letters folded onto ASCII ones, with trailing dots and spaces
// stripped from its segments, or without tabs and newlines: they are all p.
func plainPath(p, raw string) bool {
	if p[0] != '/' || strings.IndexByte(raw, '%') >= 0 {
		return false
	}
	for i := 1; i < len(p); i++ {
		switch c := p[i]; c {
		case '%', '\\', ';', '?', '#', 0x7f:
			return false
		case '/':
			if prev := p[i-1]; prev == '/' || prev == '.' || prev == ' ' {
				return false
			}
		default:
			if c < 0x20 || c >= 0x80 {
				return false
			}
		}
	}
	last := p[len(p)-1]
	return last != '.' && last != ' '
}

// agree reports whether every reading of the request path p (decoded;
// escaped is its form on the wire) that a server, or a proxy in front of
// it, might take it for selects lit, with and without regard to ASCII
// case. The readings, built one at a time so that a long path costs a
// few copies of it at once, not one per reading:
//
//   - the bases: p; escaped, undecoded; p decoded once more ("%2561" sent
//     is "%61" in p, and "a" to a server that decodes twice); p and p
//     decoded once more with the compatibility forms of ASCII characters
//     read as those (see [foldCompat]: NFKC normalisation, Windows best
//     fit), and that of p decoded again when it made a "%"; and each of
//     those cut at a "?", "#" or NUL, which only decoding produces (as a
//     proxy that decodes the path and sends it on unescaped would cut it,
//     or a server written in C);
//   - of each base: itself, "\" read as "/", ";params" stripped from every
//     segment (before and after reading "\" as "/");
//   - of each of those, with "/" prepended when it does not start with one,
//     itself and each combination of (see [normalizations]): tabs and
//     newlines removed; ſ, K (Kelvin), İ and ı read as s, k, i and i;
//     segments such as "..." or ".. " read as ".."; trailing dots and
//     spaces stripped from each segment;
//   - of each of those, the path itself and its [path.Clean] form.
func agree(rs []*route, lit *route, p, escaped string) bool {
	picks := func(v string) bool {
		for _, s := range [2]string{v, path.Clean(v)} {
			if e, f := pick(rs, s); e != lit || f != lit {
				return false
			}
		}
		return true
	}
	same := func(v string) bool {
		if !strings.HasPrefix(v, "/") {
			v = "/" + v
		}
		if !picks(v) {
			return false
		}
		if !needsNormalizing(v) {
			return true
		}
		// Each subset of the normalizations, applied in order; a subset
		// with a step that changes nothing is a smaller subset's reading.
	subsets:
		for set := 1; set < 1<<len(normalizations); set++ {
			w := v
			for i, norm := range normalizations {
				if set&(1<<i) == 0 {
					continue
				}
				n := norm(w)
				if n == w {
					continue subsets
				}
				w = n
			}
			if !picks(w) {
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
	bases := [6]string{p, escaped, p, p, p, p}
	if strings.IndexByte(p, '%') >= 0 {
		bases[2] = unescapeLenient(p)
	}
	// The compatibility forms (NFKC, best fit) of p and of p decoded
	// again, and, when folding made a "%", that decoded: "..％2F" is
	// "../" to a server that normalises, then decodes.
	if f := foldCompat(p); f != p {
		bases[3] = f
		if strings.IndexByte(f, '%') >= 0 {
			bases[4] = unescapeLenient(f)
		}
	}
	bases[5] = foldCompat(bases[2])
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

// normalizations are the readings of a path, after decoding, by servers
// that take it for another than it is:
//
//   - stripControls: the WHATWG URL parser (browsers, Node's URL, many
//     proxies written against it) drops tabs and newlines, so a proxy that
//     decodes "%09" and parses the path again reads "/ap\ti" as "/api";
//   - foldUnicode: Java's equalsIgnoreCase and Spring's case-insensitive
//     matching, like Unicode simple case folding, take ſ (U+017F) for "s",
//     K (U+212A KELVIN SIGN) for "k", İ (U+0130) and ı (U+0131) for "i";
//   - trimSegments: Windows (IIS, and any server on NTFS mapping paths to
//     files) ignores trailing dots and spaces in a name: "/api./x" is
//     "/api/x" there.
//
// dotsAsParent covers the other reading of a segment such as "...": a
// parent, not nothing.
var normalizations = [...]func(string) string{stripControls, foldUnicode, dotsAsParent, trimSegments}

// needsNormalizing reports whether some normalization may change p: it
// holds a control character or a byte outside ASCII, or a "." or " "
// ends a segment.
func needsNormalizing(p string) bool {
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c < 0x20 || c >= 0x7f || (c == '.' || c == ' ') && (i+1 == len(p) || p[i+1] == '/') {
			return true
		}
	}
	return false
}

// stripControls removes tabs, line feeds and carriage returns from p.
func stripControls(p string) string {
	if strings.IndexAny(p, "\t\n\r") < 0 {
		return p
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '\t', '\n', '\r':
			return -1
		}
		return r
	}, p)
}

// foldUnicode replaces the letters outside ASCII that case-insensitive
// comparison in Java and Unicode folds onto ASCII ones by those ASCII
// letters (in lower case: pick ignores ASCII case).
func foldUnicode(p string) string {
	if isASCII(p) {
		return p
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '\u017F': // LATIN SMALL LETTER LONG S
			return 's'
		case '\u212A': // KELVIN SIGN
			return 'k'
		case '\u0130', '\u0131': // LATIN CAPITAL LETTER I WITH DOT ABOVE, SMALL DOTLESS I
			return 'i'
		}
		return r
	}, p)
}

// trimSegments strips trailing dots and spaces from each segment of p
// but "." and "..", which path.Clean reads.
func trimSegments(p string) string {
	return mapSegments(p, func(s string) string {
		if s == "." || s == ".." {
			return s
		}
		return strings.TrimRight(s, ". ")
	})
}

// dotsAsParent reads as ".." each segment of p of dots and spaces only
// with two dots or more (such as "..." or ".. "), which some servers may
// take for a parent rather than for nothing (trimSegments).
func dotsAsParent(p string) string {
	return mapSegments(p, func(s string) string {
		if strings.Count(s, ".") >= 2 && strings.Trim(s, ". ") == "" {
			return ".."
		}
		return s
	})
}

// mapSegments returns p with each "/"-separated segment s replaced by
// f(s); it returns p itself when f changes none.
func mapSegments(p string, f func(string) string) string {
	segs := strings.Split(p, "/")
	changed := false
	for i, s := range segs {
		if t := f(s); t != s {
			segs[i], changed = t, true
		}
	}
	if !changed {
		return p
	}
	return strings.Join(segs, "/")
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
