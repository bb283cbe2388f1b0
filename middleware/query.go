package middleware

import (
	"net/http"
	"net/url"
	"strings"
)

// accessTokenParam is the parameter name of RFC 6750 §2.2 and §2.3.
const accessTokenParam = "access_token"

// tokenOutsideHeader refuses a request that carries an access token in its URI
// query (RFC 6750 §2.3) or in a form body the application has already parsed
// (§2.2). Tokens in URLs end up in logs and Referer headers; accepting them
// would also let a request present two tokens. The body is never read here.
func tokenOutsideHeader(r *http.Request) *Error {
	if r.URL != nil && hasQueryKey(r.URL.RawQuery, accessTokenParam) {
		return requestError(ErrTokenInQuery, "bearer token must be sent in the Authorization header, not the query string")
	}
	if r.PostForm != nil && r.PostForm.Has(accessTokenParam) {
		return requestError(ErrTokenInQuery, "bearer token must be sent in the Authorization header, not the form body")
	}
	return nil
}

// hasQueryKey reports whether the raw query has a parameter named key, decoding
// names the way url.ParseQuery does. It allocates only for names that contain
// an escape.
func hasQueryKey(raw, key string) bool {
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		name, _, _ := strings.Cut(part, "=")
		if strings.ContainsAny(name, "%+") {
			dec, err := url.QueryUnescape(name)
			if err != nil {
				continue
			}
			name = dec
		}
		if name == key {
			return true
		}
	}
	return false
}
