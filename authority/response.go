package authority

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
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

// errorJSON is the wire form of RFC 6749 §5.2.
type errorJSON struct {
	Error            any `json:"error"`
	ErrorDescription any `json:"error_description"`
	ErrorURI         any `json:"error_uri"`
}

// token turns the reply into a Token or an error. sentAt is when the request
// was sent: expires_in counts from then.
func (r response) token(sentAt time.Time, defaultLifetime time.Duration, now func() time.Time, secrets []string) (*Token, error) {
	if r.readErr != nil && !r.tooLarge {
		return nil, fmt.Errorf("authority: reading token response (HTTP %d): %w", r.status, r.readErr)
	}
	success := r.status >= 200 && r.status < 300
	if r.tooLarge {
		return nil, &Error{StatusCode: r.status, Malformed: success, ContentType: mediaType(r.contentType),
			Description: fmt.Sprintf("body exceeds %d bytes", maxResponseBytes), RetryAfter: parseRetryAfter(r.retryAfter, now)}
	}
	if !success {
		return nil, r.refusal(now, secrets)
	}
	tok, err := parseTokenJSON(r.body, sentAt, defaultLifetime)
	if err != nil {
		if e := r.refusal(now, secrets); e.Code != "" {
			// An error object with a success status: the server refused.
			return nil, e
		}
		e := &Error{StatusCode: r.status, Malformed: true, ContentType: mediaType(r.contentType), Description: err.Error()}
		if body := bytes.TrimSpace(r.body); len(body) > 0 && body[0] != '{' && body[0] != '[' {
			// Not JSON at all, such as a login page: show its start. A
			// JSON body is never excerpted: it may hold a token.
			e.Excerpt = sanitize(string(body), maxExcerpt, secrets)
		}
		return nil, e
	}
	return tok, nil
}

// parseTokenJSON reads a successful token response body.
func parseTokenJSON(body []byte, sentAt time.Time, defaultLifetime time.Duration) (*Token, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, errors.New("empty body")
	}
	if body[0] != '{' {
		return nil, errors.New("body is not a JSON object")
	}
	var raw tokenJSON
	if err := json.Unmarshal(body, &raw); err != nil {
		// The decoder's message can quote the offending value; do not
		// repeat it, it may be a token.
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, fmt.Errorf("field %q has the wrong JSON type", sanitize(te.Field, maxCode, nil))
		}
		return nil, errors.New("body is not valid JSON")
	}
	if raw.AccessToken == "" {
		return nil, errors.New("no access_token")
	}
	lifetime, err := parseExpiresIn(raw.ExpiresIn)
	if err != nil {
		return nil, err
	}
	if lifetime == 0 {
		lifetime = defaultLifetime
	}
	tokenType := raw.TokenType
	if tokenType == "" {
		tokenType = "Bearer"
	}
	return &Token{
		AccessToken:     raw.AccessToken,
		TokenType:       tokenType,
		IssuedTokenType: raw.IssuedTokenType,
		RefreshToken:    raw.RefreshToken,
		Expiry:          sentAt.Add(lifetime),
		Scope:           raw.Scope,
	}, nil
}

// parseExpiresIn reads expires_in as a JSON number or a numeric string.
// Absent, null or zero gives 0 ("unknown"); negative or non-numeric is an
// error; values above maxLifetime are capped.
func parseExpiresIn(raw json.RawMessage) (time.Duration, error) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return 0, nil
	}
	if s[0] == '"' {
		var str string
		if err := json.Unmarshal(raw, &str); err != nil {
			return 0, errors.New("expires_in is not a number")
		}
		s = strings.TrimSpace(str)
	}
	secs, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(secs) || math.IsInf(secs, 0) || strings.ContainsAny(s, "nNiIxXpP_") {
		return 0, errors.New("expires_in is not a number")
	}
	if secs < 0 {
		return 0, errors.New("expires_in is negative")
	}
	if secs >= maxLifetime.Seconds() {
		return maxLifetime, nil
	}
	return time.Duration(secs * float64(time.Second)), nil
}

// refusal reads a non-2xx reply: an RFC 6749 §5.2 error object when there
// is one, else a description of what came back.
func (r response) refusal(now func() time.Time, secrets []string) *Error {
	e := &Error{StatusCode: r.status, RetryAfter: parseRetryAfter(r.retryAfter, now)}
	var ej errorJSON
	body := bytes.TrimSpace(r.body)
	if len(body) > 0 && body[0] == '{' && json.Unmarshal(body, &ej) == nil {
		if code, ok := ej.Error.(string); ok && code != "" {
			e.Code = sanitize(code, maxCode, secrets)
			desc, _ := ej.ErrorDescription.(string)
			e.Description = sanitize(desc, maxDescription, secrets)
			uri, _ := ej.ErrorURI.(string)
			e.URI = sanitize(uri, maxDescription, secrets)
			return e
		}
	}
	e.ContentType = mediaType(r.contentType)
	if len(body) == 0 {
		e.Description = "empty body"
		return e
	}
	e.Excerpt = sanitize(string(body), maxExcerpt, secrets)
	return e
}

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

// sanitize makes text from the network safe to put in an error: each
// credential of the request is replaced, control and non-printing
// characters become spaces, runs of space collapse, and the result is cut
// to max runes.
func sanitize(s string, max int, secrets []string) string {
	for _, secret := range secrets {
		if len(secret) >= 4 {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	var b strings.Builder
	n := 0
	space := false
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			r = ' '
		}
		if r == ' ' {
			if space || n == 0 {
				continue
			}
			space = true
		} else {
			space = false
		}
		if n == max {
			b.WriteString("…")
			break
		}
		b.WriteRune(r)
		n++
	}
	return strings.TrimRight(b.String(), " ")
}
