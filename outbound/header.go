package outbound

import (
	"net/http"
	"strings"
)

// withToken returns a shallow copy of req without any Authorization field
// and, when value is not "", with Authorization: value. req itself is not
// modified.
func withToken(req *http.Request, value string) *http.Request {
	out := new(http.Request)
	*out = *req
	out.Header = headerWith(req.Header, value)
	return out
}

// headerWith returns a copy of h without any Authorization field (under
// any spelling of its name) and, when value is not "", with
// Authorization: value. Like [http.Header.Clone], the values of every
// field share one backing array, which also holds the new Authorization
// value: two allocations in all, whatever the number of fields.
func headerWith(h http.Header, value string) http.Header {
	n := 0
	for k, vv := range h {
		if !isAuthorization(k) {
			n += len(vv)
		}
	}
	if value != "" {
		n++
	}
	values := make([]string, n)
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
