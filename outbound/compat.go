package outbound

import (
	"strings"
	"unicode/utf8"
)

// compatForms maps the characters outside ASCII that Unicode NFKC
// normalisation turns into a string holding ".", "/", "\" or "%" (Unicode
// 14; the full-width forms U+FF01 to U+FF5E are mapped by foldCompat
// itself), and those that Windows best-fit mapping to an ANSI code page
// turns into "/" or "\", to what such a server reads.
var compatForms = map[rune]string{
	// NFKC.
	'\u2024': ".",   // ONE DOT LEADER
	'\u2025': "..",  // TWO DOT LEADER
	'\u2026': "...", // HORIZONTAL ELLIPSIS
	'\u2100': "a/c", // ACCOUNT OF
	'\u2101': "a/s", // ADDRESSED TO THE SUBJECT
	'\u2105': "c/o", // CARE OF
	'\u2106': "c/u", // CADA UNA
	'\u2488': "1.", '\u2489': "2.", '\u248A': "3.", '\u248B': "4.", '\u248C': "5.",
	'\u248D': "6.", '\u248E': "7.", '\u248F': "8.", '\u2490': "9.", '\u2491': "10.",
	'\u2492': "11.", '\u2493': "12.", '\u2494': "13.", '\u2495': "14.", '\u2496': "15.",
	'\u2497': "16.", '\u2498': "17.", '\u2499': "18.", '\u249A': "19.", '\u249B': "20.", // DIGIT ONE FULL STOP ... NUMBER TWENTY FULL STOP
	'\u33C2':     "a.m.", // SQUARE AM
	'\u33C7':     "Co.",  // SQUARE CO
	'\u33D8':     "p.m.", // SQUARE PM
	'\uFE19':     "...",  // PRESENTATION FORM FOR VERTICAL HORIZONTAL ELLIPSIS
	'\uFE30':     "..",   // PRESENTATION FORM FOR VERTICAL TWO DOT LEADER
	'\uFE52':     ".",    // SMALL FULL STOP
	'\uFE68':     `\`,    // SMALL REVERSE SOLIDUS
	'\uFE6A':     "%",    // SMALL PERCENT SIGN
	'\U0001F100': "0.",   // DIGIT ZERO FULL STOP
	// Windows best fit (no NFKC decomposition).
	'\u2044': "/", // FRACTION SLASH
	'\u2215': "/", // DIVISION SLASH
	'\u29F8': "/", // BIG SOLIDUS
	'\u2216': `\`, // SET MINUS
	'\u29F5': `\`, // REVERSE SOLIDUS OPERATOR
	'\u29F9': `\`, // BIG REVERSE SOLIDUS
	'\u00A5': `\`, // YEN SIGN: "\" in code page 932 (Japanese)
	'\u20A9': `\`, // WON SIGN: "\" in code page 949 (Korean)
}

// foldCompat returns p with the compatibility forms of ASCII characters
// read as a server that applies NFKC normalisation (or Windows best-fit
// mapping) to a decoded path reads them: the full-width forms U+FF01 to
// U+FF5E as the ASCII characters "!" to "~", and the characters of
// compatForms as their strings. "/api/public/．．/admin" is
// "/api/public/../admin" there, "/ａｐｉ" is "/api".
func foldCompat(p string) string {
	if isASCII(p) {
		return p
	}
	var (
		b       strings.Builder
		changed bool
	)
	for i := 0; i < len(p); {
		r, size := utf8.DecodeRuneInString(p[i:])
		s, ok := compatForms[r]
		if !ok && '\uFF01' <= r && r <= '\uFF5E' {
			s, ok = string(r-'\uFF01'+'!'), true
		}
		switch {
		case ok && !changed:
			changed = true
			b.Grow(len(p))
			b.WriteString(p[:i])
			b.WriteString(s)
		case ok:
			b.WriteString(s)
		case changed:
			b.WriteString(p[i : i+size]) // as it is, even when not UTF-8
		}
		i += size
	}
	if !changed {
		return p
	}
	return b.String()
}
