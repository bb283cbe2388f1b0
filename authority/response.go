package authority

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// response is one reply from the token endpoint, read and bounded.
type response struct {
	status      int
	contentType string
	retryAfter  string
	body        []byte
	tooLarge    bool
	readErr     error
}

// Limits on what a reply may put into an error.
const (
	maxDescription = 512
	maxCode        = 64
	maxExcerpt     = 80
	// maxLifetime caps expires_in: a larger value is read as this.
	maxLifetime = 365 * 24 * time.Hour
)

// tokenJSON is the wire form of RFC 6749 §5.1 and RFC 8693 §2.2.1.
type tokenJSON struct {
	AccessToken     string          `json:"access_token"`
	TokenType       string          `json:"token_type"`
	IssuedTokenType string          `json:"issued_token_type"`
	RefreshToken    string          `json:"refresh_token"`
	ExpiresIn       json.RawMessage `json:"expires_in"`
	Scope           string          `json:"scope"`
}

// errorJSON is the wire form of RFC 6749 §5.2, with the members Microsoft
// Entra ID adds.
type errorJSON struct {
	Error            any `json:"error"`
	ErrorDescription any `json:"error_description"`
	ErrorURI         any `json:"error_uri"`
	Claims           any `json:"claims"`
	ErrorCodes       any `json:"error_codes"`
	TraceID          any `json:"trace_id"`
	CorrelationID    any `json:"correlation_id"`
}

// unusable returns the error of a reply that is no body to parse: one
// that could not be read in full, one over maxResponseBytes, or one whose
// status is not a success (a refusal, read as RFC 6749 §5.2 describes).
// kind names the response in errors ("token", "introspection"). Otherwise
// it returns every form of secrets, to redact from what the body puts into
// an error.
func (r response) unusable(kind string, now func() time.Time, secrets []string) (forms []string, _ error) {
	if r.readErr != nil && !r.tooLarge {
		return nil, fmt.Errorf("authority: reading %s response (HTTP %d): %w", kind, r.status, r.readErr)
	}
	success := r.status >= 200 && r.status < 300
	if r.tooLarge {
		return nil, &Error{StatusCode: r.status, Malformed: success, ContentType: mediaType(r.contentType),
			Description: fmt.Sprintf("body exceeds %d bytes", maxResponseBytes), RetryAfter: parseRetryAfter(r.retryAfter, now)}
	}
	forms = credentialForms(secrets)
	if !success {
		return nil, r.refusal(now, forms)
	}
	return forms, nil
}

// token turns the reply into a Token or an error. sentAt is when the request
// was sent: expires_in counts from then. secrets are the credentials the
// request carried, each as sent; any form of them is redacted from what
// the reply puts into an error.
func (r response) token(sentAt time.Time, defaultLifetime time.Duration, now func() time.Time, secrets []string) (*Token, error) {
	forms, err := r.unusable("token", now, secrets)
	if err != nil {
		return nil, err
	}
	tok, err := parseTokenBody(r.body, mediaType(r.contentType), sentAt, defaultLifetime)
	if err != nil {
		if e := r.refusal(now, forms); e.Code != "" {
			// An error object with a success status: the server refused.
			return nil, e
		}
		// A 2xx body is never excerpted: whatever its shape, it may
		// hold the issued token.
		return nil, &Error{StatusCode: r.status, Malformed: true, ContentType: mediaType(r.contentType), Description: err.Error()}
	}
	return tok, nil
}

// refusal reads a reply that is not a token: an RFC 6749 §5.2 error
// object (JSON, or form-encoded as some servers answer) when there is one,
// else a description of what came back. Only a text or JSON body is
// excerpted, after every form of the request's credentials (forms) and
// every credential-bearing field have been redacted.
func (r response) refusal(now func() time.Time, forms []string) *Error {
	e := &Error{StatusCode: r.status, RetryAfter: parseRetryAfter(r.retryAfter, now)}
	body := bytes.TrimSpace(bytes.TrimPrefix(bytes.TrimSpace(r.body), utf8BOM))
	mt := mediaType(r.contentType)
	var ej errorJSON
	switch {
	case len(body) > 0 && body[0] == '{' && json.Unmarshal(body, &ej) == nil:
	case mt == formType:
		if v, err := url.ParseQuery(string(body)); err == nil && v.Get("error") != "" {
			ej = errorJSON{Error: v.Get("error"), ErrorDescription: v.Get("error_description"), ErrorURI: v.Get("error_uri")}
		}
	}
	if code, ok := ej.Error.(string); ok && code != "" {
		e.Code = sanitize(code, maxCode, forms)
		desc, _ := ej.ErrorDescription.(string)
		e.Description = sanitize(desc, maxDescription, forms)
		uri, _ := ej.ErrorURI.(string)
		e.URI = sanitize(uri, maxDescription, forms)
		e.readEntra(ej, forms)
		return e
	}
	e.ContentType = mt
	switch {
	case len(body) == 0:
		e.Description = "empty body"
	case excerptable(mt):
		e.Excerpt = sanitize(string(body), maxExcerpt, forms)
	}
	return e
}

// excerptable reports whether a body of media type mt may be excerpted
// into an error: text and JSON only, never a binary or unknown type.
func excerptable(mt string) bool {
	return strings.HasPrefix(mt, "text/") || isJSONType(mt)
}

func isJSONType(mt string) bool { return mt == "application/json" || strings.HasSuffix(mt, "+json") }

// parseRetryAfter reads Retry-After as seconds or an HTTP date.
func parseRetryAfter(v string, now func() time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		if secs <= 0 {
			return 0
		}
		return min(time.Duration(secs)*time.Second, maxLifetime)
	}
	if at, err := http.ParseTime(v); err == nil {
		if d := at.Sub(now()); d > 0 {
			return min(d, maxLifetime)
		}
	}
	return 0
}

func mediaType(contentType string) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return sanitize(contentType, maxCode, nil)
	}
	return mt
}
