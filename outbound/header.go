package outbound

import (
	"net/http"
	"strings"
)

// withToken returns a shallow copy of req without any Authorization field
// and, when value is not "", with Authorization: value. req itself is not
// modified.
//
// The copy and the values of its header share one allocation when they
// fit in a [requestCopy], as they do for most outbound requests; the
// header's map is the only other.
func withToken(req *http.Request, value string) *http.Request {
	n := headerValues(req.Header, value)
	if n <= inlineValues {
		c := new(requestCopy)
		c.req = *req
		c.req.Header = fillHeader(req.Header, value, c.vals[:n:n])
		return &c.req
	}
	out := new(http.Request)
	*out = *req
	out.Header = fillHeader(req.Header, value, make([]string, n))
	return out
}

// inlineValues is how many header values a requestCopy holds.
const inlineValues = 4

// requestCopy is a request and room for the values of its header, so that
// the transport's copy of a request costs one allocation for both.
type requestCopy struct {
	req  http.Request
	vals [inlineValues]string
}

// headerValues counts the values of a copy of h without its Authorization
// fields and, when value is not "", with Authorization: value.
func headerValues(h http.Header, value string) int {
	n := 0
	for k, vv := range h {
		if !isAuthorization(k) {
			n += len(vv)
		}
	}
	if value != "" {
		n++
	}
	return n
}

// fillHeader returns a copy of h without any Authorization field (under
// any spelling of its name) and, when value is not "", with
// Authorization: value. Like [http.Header.Clone], the values of every
// field share one backing array, values, which has room for exactly
// headerValues(h, value) and also holds the new Authorization value.
func fillHeader(h http.Header, value string, values []string) http.Header {
	out := make(http.Header, len(h)+1)
	for k, vv := range h {
		if isAuthorization(k) {
			continue
		}
		if vv == nil {
			out[k] = nil // as Clone does
			continue
		}
		m := copy(values, vv)
		out[k] = values[:m:m]
		values = values[m:]
	}
	if value != "" {
		values[0] = value
		out["Authorization"] = values[:1:1]
	}
	return out
}

// isAuthorization reports whether k names the Authorization field, in any
// case: [http.Header] keys set directly need not be canonical, and
// [net/http.Transport] sends them as they are.
func isAuthorization(k string) bool {
	return len(k) == len("Authorization") && (k == "Authorization" || asciiEqualFold(k, "Authorization"))
}

// inspectAuthorization looks at every Authorization field of h: field
// reports that there is one (even empty), present that one has a non-empty
// value, echoed that a value is the subject token (only when hasSubject).
func inspectAuthorization(h http.Header, subject string, hasSubject bool) (field, present, echoed bool) {
	if vv, ok := h["Authorization"]; ok && len(h) == 1 {
		return true, hasValue(vv), hasSubject && carries(vv, subject) // the common case without a map walk
	}
	for k, vv := range h {
		if !isAuthorization(k) {
			continue
		}
		field = true
		present = present || hasValue(vv)
		echoed = echoed || (hasSubject && carries(vv, subject))
	}
	return field, present, echoed
}

func hasValue(vv []string) bool {
	for _, v := range vv {
		if v != "" {
			return true
		}
	}
	return false
}

// carries reports whether one of the header values is the subject token:
// "Bearer" (any case), one or more spaces or tabs and the token, or the
// bare token, with optional surrounding spaces or tabs. A value that
// merely contains the token (such as another token it is a prefix of)
// does not count.
func carries(values []string, token string) bool {
	if token == "" {
		return false
	}
	for _, v := range values {
		v = strings.Trim(v, " \t")
		if v == token {
			return true
		}
		if len(v) > len("bearer") && asciiEqualFold(v[:len("bearer")], "bearer") {
			rest := v[len("bearer"):]
			if rest[0] == ' ' || rest[0] == '\t' {
				if strings.TrimLeft(rest, " \t") == token {
					return true
				}
			}
		}
	}
	return false
}
