package middleware

import (
	"strings"

	"github.com/lestrrat-go/jwx/v2/jwt"
)

// hasScopes reports whether tok grants every scope in required. Granted scopes
// come from the "scope" claim (a space-separated string, RFC 8693 §4.2 and
// RFC 9068 §2.2.3) and from the "scp" claim (an array of strings, or a string,
// as some servers issue it).
func hasScopes(tok jwt.Token, required []string) bool {
	var scope string
	if v, ok := tok.Get("scope"); ok {
		scope, _ = v.(string)
	}
	var scp []any
	var scpString string
	if v, ok := tok.Get("scp"); ok {
		switch v := v.(type) {
		case []any:
			scp = v
		case []string:
			for _, s := range v {
				scp = append(scp, s)
			}
		case string:
			scpString = v
		}
	}
	for _, want := range required {
		if !containsField(scope, want) && !containsField(scpString, want) && !containsAny(scp, want) {
			return false
		}
	}
	return true
}

// containsField reports whether the space-separated list has the element want.
func containsField(list, want string) bool {
	for list != "" {
		var f string
		f, list, _ = strings.Cut(list, " ")
		if f == want {
			return true
		}
	}
	return false
}

func containsAny(list []any, want string) bool {
	for _, v := range list {
		if s, ok := v.(string); ok && s == want {
			return true
		}
	}
	return false
}

// isScopeToken reports whether s is an RFC 6749 §3.3 scope-token:
// 1*( %x21 / %x23-5B / %x5D-7E ).
func isScopeToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
