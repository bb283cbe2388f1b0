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
func isToken68(s string) bool {
	n := 0
	for n < len(s) && isToken68Char(s[n]) {
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

func isToken68Char(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	case c == '-', c == '.', c == '_', c == '~', c == '+', c == '/':
		return true
	}
	return false
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
