package middleware

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// errNoClaims is the cause of the refusal of a token for which a Validator
// returned neither claims nor an error.
var errNoClaims = errors.New("middleware: the validator returned no claims and no error")

// asError returns err as the [*Error] that answers it: the *Error in err's
// chain; for an error wrapping ErrUnavailable, a 503 temporarily_unavailable
// whose RetryAfter comes from a RetryAfter() time.Duration method in err's
// chain; otherwise a 401 invalid_token with a generic description that does
// not reveal err's text.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if errors.Is(err, ErrUnavailable) {
		return &Error{
			Code:        CodeTemporarilyUnavailable,
			Description: "token could not be validated now",
			Status:      http.StatusServiceUnavailable,
			RetryAfter:  retryAfter(err),
			Err:         err,
		}
	}
	return tokenError(err, "token could not be validated")
}

// retryAfter returns the delay that a RetryAfter() time.Duration method in
// err's chain gives, or 0.
func retryAfter(err error) time.Duration {
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(err, &ra) {
		return ra.RetryAfter()
	}
	return 0
}

// WriteError writes the RFC 6750 §3 answer for err: the status (derived from
// the code when [Error.Status] is zero or not a valid status), a
// WWW-Authenticate challenge naming realm, and for requests that carried
// credentials a small JSON body {"error": ..., "error_description": ...}.
// A refusal for missing credentials (Code "") gets the bare challenge and no
// body, as RFC 6750 §3.1 asks.
//
// An err that wraps [ErrUnavailable] is no refusal of the token: it is
// answered 503 Service Unavailable with the body {"error":
// "temporarily_unavailable", ...}, no challenge, and a Retry-After header
// when the delay is known ([Error.RetryAfter], or a RetryAfter()
// time.Duration method in err's chain).
//
// Any other err that is not an [*Error] is answered as 401 invalid_token,
// with the description "token could not be validated": its text is never
// revealed.
//
// WriteError is the default [Options.ErrorResponder] (when
// [Options.ResourceMetadata] is empty); custom responders may call it after
// doing their own work. It is [Challenge.WriteError] with only a realm.
func WriteError(w http.ResponseWriter, realm string, err error) {
	Challenge{Realm: realm}.WriteError(w, err)
}

// Challenge holds the parameters of the WWW-Authenticate: Bearer challenge
// that come from the configuration rather than from the refusal.
type Challenge struct {
	// Realm is the realm parameter (RFC 6750 §3), always sent: "" sends
	// realm="".
	Realm string
	// ResourceMetadata, when set, is sent as the resource_metadata
	// parameter (RFC 9728 §5.1): the URL of the protected resource's
	// metadata, from which a client (an MCP client, for one) learns which
	// authorization server to get a token from.
	ResourceMetadata string
}

// WriteError writes the answer to err as [WriteError] does, with c's
// parameters in the challenge.
func (c Challenge) WriteError(w http.ResponseWriter, err error) {
	e := asError(err)
	if errors.Is(e, ErrUnavailable) {
		writeUnavailable(w, e, err)
		return
	}
	status := e.Status
	if status < 100 || status > 999 { // zero, or one WriteHeader would panic on
		status = statusFor(e.Code)
	}
	h := w.Header()
	h.Set("WWW-Authenticate", c.header(e))
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
	writeBody(w, status, body)
}

// writeUnavailable answers 503 for e, an *Error wrapping ErrUnavailable
// found in err: the token was neither accepted nor refused, so there is no
// challenge (RFC 9110 §15.6.4).
func writeUnavailable(w http.ResponseWriter, e *Error, err error) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	ra := e.RetryAfter
	if ra <= 0 {
		ra = retryAfter(err)
	}
	if ra > 0 {
		h.Set("Retry-After", strconv.FormatInt(int64((ra+time.Second-1)/time.Second), 10))
	}
	desc := e.Description
	if desc == "" {
		desc = "token could not be validated now"
	}
	body, _ := json.Marshal(struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}{CodeTemporarilyUnavailable, desc})
	writeBody(w, http.StatusServiceUnavailable, body)
}

// writeBody writes a JSON error body with status.
func writeBody(w http.ResponseWriter, status int, body []byte) {
	body = append(body, '\n')
	h := w.Header()
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

// header builds the WWW-Authenticate value of RFC 6750 §3 for e, with
// resource_metadata (RFC 9728 §5.1) last, as in the RFC's examples.
func (c Challenge) header(e *Error) string {
	var b strings.Builder
	b.WriteString(`Bearer realm=`)
	quote(&b, c.Realm)
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
	if c.ResourceMetadata != "" {
		b.WriteString(`, resource_metadata=`)
		quote(&b, c.ResourceMetadata)
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
