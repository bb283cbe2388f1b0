package authority

import (
	"encoding/json"
	"html"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxSanitizeRounds bounds the rounds of redaction in sanitize; text
// from a server settles in two or three.
const maxSanitizeRounds = 8

// minSecret is the shortest credential searched for in text from the
// network: shorter ones would redact ordinary words.
const minSecret = 4

// credentialForms returns every form in which a credential of a request
// may come back in a reply that echoes it: as sent, form-encoded (RFC 6749
// Appendix B, with + or %20 for a space, hexadecimal in either case),
// path-escaped, and JSON-escaped (with \/ and \u escapes for / + = and
// HTML characters). The caller adds the whole Authorization header and
// its base64 part as credentials of their own.
func credentialForms(secrets []string) []string {
	var forms []string
	seen := map[string]bool{}
	add := func(s string) {
		if len(s) >= minSecret && !seen[s] {
			seen[s] = true
			forms = append(forms, s)
		}
	}
	for _, s := range secrets {
		if len(s) < minSecret {
			continue
		}
		add(s)
		for _, enc := range []string{url.QueryEscape(s), url.PathEscape(s), strings.ReplaceAll(url.QueryEscape(s), "+", "%20")} {
			add(enc)
			add(lowerHex(enc))
		}
		js, _ := json.Marshal(s)
		quoted := strings.Trim(string(js), `"`)
		add(quoted)
		add(strings.ReplaceAll(quoted, "/", `\/`))
	}
	return forms
}

// lowerHex lower-cases the hexadecimal digits of each %XX escape.
func lowerHex(s string) string {
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			b[i+1] = byte(unicode.ToLower(rune(b[i+1])))
			b[i+2] = byte(unicode.ToLower(rune(b[i+2])))
		}
	}
	return string(b)
}

// credentialFields names the parameters whose value is a credential,
// wherever they appear: a token response, an echoed request, an error
// page.
const credentialFields = `access_token|refresh_token|id_token|client_assertion|assertion|client_secret|subject_token|actor_token|password`

var (
	// jsonField matches a credential field of a JSON object and its value,
	// string or not, a string cut off by the end of the text included.
	jsonField = regexp.MustCompile(`(?i)("(?:` + credentialFields + `)"\s*:\s*)("(?:[^"\\]|\\.)*(?:"|\\?$)|[^\s,}\]]+)`)
	// formField matches a credential parameter of a form or a query
	// string and its value.
	formField = regexp.MustCompile(`(?i)((?:` + credentialFields + `)=)[^&\s"'<>]*`)
	// authField matches an Authorization header and its value.
	authField = regexp.MustCompile(`(?i)(authorization"?'?\s*[:=]\s*"?'?)[^\r\n"'<>&,;]*`)
)

// scrub replaces each form of a credential, and the value of each
// credential-bearing field, with [redacted].
func scrub(s string, forms []string) string {
	for _, f := range forms {
		if len(f) >= minSecret {
			s = strings.ReplaceAll(s, f, "[redacted]")
		}
	}
	s = jsonField.ReplaceAllString(s, `$1"[redacted]"`)
	s = formField.ReplaceAllString(s, `${1}[redacted]`)
	return authField.ReplaceAllString(s, `${1}[redacted]`)
}

// decoders undo, one after another, the encodings in which a reply may
// show a credential.
var decoders = []func(string) string{unescapeJSON, html.UnescapeString, unescapePercent, plusToSpace}

// redact scrubs s; then, decoding it step by step, scrubs each decoding
// too. When a decoding reveals a credential the scrubbed decoding is
// returned, otherwise s as it was (scrubbed), so that an operator reads
// the text as sent.
func redact(s string, forms []string) string {
	out := scrub(s, forms)
	decoded, found := out, false
	for _, dec := range decoders {
		decoded = dec(decoded)
		if r := scrub(decoded, forms); r != decoded {
			decoded, found = r, true
		}
	}
	if found {
		return decoded
	}
	return out
}

// unescapeJSON resolves the escapes of JSON strings (RFC 8259 §7) wherever
// they appear, leaving anything else, a malformed escape included, as it
// is.
func unescapeJSON(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		switch n := s[i+1]; n {
		case '"', '\\', '/':
			b.WriteByte(n)
			i++
		case 'b', 'f', 'n', 'r', 't':
			b.WriteByte(' ')
			i++
		case 'u':
			r, w := hexRune(s[i+2:])
			if w == 0 {
				b.WriteByte(c)
				continue
			}
			b.WriteRune(r)
			i += 1 + w
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// hexRune reads the four hexadecimal digits after \u, and a low surrogate's
// \uXXXX after a high one; w is how many bytes it read, 0 if none.
func hexRune(s string) (r rune, w int) {
	if len(s) < 4 {
		return 0, 0
	}
	v, err := strconv.ParseUint(s[:4], 16, 32)
	if err != nil {
		return 0, 0
	}
	r = rune(v)
	if utf16Surrogate(r) && len(s) >= 10 && s[4] == '\\' && s[5] == 'u' {
		if lo, err := strconv.ParseUint(s[6:10], 16, 32); err == nil {
			return (r-0xd800)<<10 + (rune(lo) - 0xdc00) + 0x10000, 10
		}
	}
	if utf16Surrogate(r) {
		return utf8.RuneError, 4
	}
	return r, 4
}

func utf16Surrogate(r rune) bool { return r >= 0xd800 && r < 0xe000 }

// unescapePercent resolves each %XX escape and keeps + and anything
// malformed as they are.
func unescapePercent(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func plusToSpace(s string) string { return strings.ReplaceAll(s, "+", " ") }

// sanitize makes text from the network safe to put in an error: each form
// of each credential in forms and the value of every credential-bearing
// field are redacted (see redact), control and non-printing characters
// become spaces, runs of space collapse, and the result is cut to limit
// runes. Redaction and normalization repeat until neither changes the
// text: a control character may hide a credential until it becomes a
// space, and a decoding may reveal a control character.
//
// Only the start of a long text is read, so that a large body costs
// little: a window of 4*limit+1 KiB bytes. A credential the window cuts in
// two is not recognised, so its start must not be shown: when the cleaned
// window is not longer than limit plus the longest credential form, the
// result is empty.
func sanitize(s string, limit int, forms []string) string {
	window := 4*limit + 1<<10
	if len(s) <= window {
		return cut(clean(s, forms), limit)
	}
	c := clean(s[:window], forms)
	longest := 0
	for _, f := range forms {
		longest = max(longest, len(f))
	}
	if utf8.RuneCountInString(c) <= limit+longest {
		return ""
	}
	return cut(c, limit)
}

// clean redacts and normalizes s until neither changes it.
func clean(s string, forms []string) string {
	for range maxSanitizeRounds {
		next := normalize(redact(s, forms))
		if next == s {
			break
		}
		s = next
	}
	return s
}

// cut shortens s to limit runes, marking the cut with an ellipsis.
func cut(s string, limit int) string {
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	n := 0
	for i := range s {
		if n == limit {
			return strings.TrimRight(s[:i], " ") + "…"
		}
		n++
	}
	return s
}

// normalize turns control and non-printing characters into spaces,
// collapses runs of space and trims the ends.
func normalize(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			r = ' '
		}
		if r == ' ' {
			if space || b.Len() == 0 {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteRune(r)
	}
	return strings.TrimRight(b.String(), " ")
}
