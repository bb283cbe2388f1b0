package middleware

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// WriteError writes the RFC 6750 §3 answer for err: the status (derived from
// the code when [Error.Status] is zero or not a valid status), a
// WWW-Authenticate challenge naming realm, and for requests that carried
// credentials a small JSON body {"error": ..., "error_description": ...}.
// A refusal for missing credentials (Code "") gets the bare challenge and no
// body, as RFC 6750 §3.1 asks. An err that is not an [*Error] is answered as
// 401 invalid_token without revealing its text.
//
// WriteError is the default [Options.ErrorResponder]; custom responders may call
// it after doing their own work.
func WriteError(w http.ResponseWriter, realm string, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = tokenError(err, "token could not be validated")
	}
	status := e.Status
	if status < 100 || status > 999 { // zero, or one WriteHeader would panic on
		status = statusFor(e.Code)
	}
	h := w.Header()
	h.Set("WWW-Authenticate", challenge(realm, e))
	h.Set("Cache-Control", "no-store")
	if e.Code == "" {
		w.WriteHeader(status)
		return
	}
	body, _ := json.Marshal(struct {
		Error       string `json:"error"`
		Description string `json:"error_description,omitempty"`
		Scope       string `json:"scope,omitempty"`
	}{e.Code, e.Description, e.Scope})
	body = append(body, '\n')
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// statusFor is the RFC 6750 §3.1 status of an error code, for an [*Error]
// built without a Status.
func statusFor(code string) int {
	switch code {
	case CodeInvalidRequest:
		return http.StatusBadRequest
	case CodeInsufficientScope:
		return http.StatusForbidden
	}
	return http.StatusUnauthorized
}

// challenge builds the WWW-Authenticate value of RFC 6750 §3.
func challenge(realm string, e *Error) string {
	var b strings.Builder
	b.WriteString(`Bearer realm=`)
	quote(&b, realm)
	if e.Code != "" {
		b.WriteString(`, error=`)
		quote(&b, e.Code)
		if e.Description != "" {
			b.WriteString(`, error_description=`)
			quote(&b, e.Description)
		}
		if e.Scope != "" {
			b.WriteString(`, scope=`)
			quote(&b, e.Scope)
		}
	}
	return b.String()
}

// quote writes s as an RFC 9110 quoted-string. RFC 6750 limits error_description
// to %x20-21 / %x23-5B / %x5D-7E, so other bytes become '?', and '"' and '\'
// are escaped; a header can never be split or broken by a description.
func quote(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c > 0x7e:
			b.WriteByte('?')
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}
