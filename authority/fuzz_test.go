package authority

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzTokenResponse feeds arbitrary bodies and statuses to the token
// response parser: it must never panic, must return exactly one of a token
// or an error, and must never put the request's secret into an error.
func FuzzTokenResponse(f *testing.F) {
	f.Add(200, "application/json", `{"access_token":"a","token_type":"Bearer","expires_in":300}`)
	f.Add(200, "application/json", `{"access_token":"a","expires_in":"300"}`)
	f.Add(400, "application/json", `{"error":"invalid_grant","error_description":"Session not active"}`)
	f.Add(502, "text/html", `<html>bad gateway</html>`)
	f.Add(200, "", ``)
	f.Add(429, "application/json", `{"error":"slow_down"}`)
	const secret = "SECRET-subject-token"
	f.Fuzz(func(t *testing.T, status int, contentType, body string) {
		if status < 100 || status > 999 {
			status = 200
		}
		r := response{status: status, contentType: contentType, retryAfter: "1", body: []byte(body)}
		tok, err := r.token(sentAt, time.Minute, fixedNow, []string{secret})
		if (tok == nil) == (err == nil) {
			t.Fatalf("token %v and error %v", tok, err)
		}
		if err != nil {
			var ae *Error
			if !errors.As(err, &ae) {
				t.Fatalf("error %T is not *Error", err)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error leaks the secret: %s", err)
			}
			return
		}
		if tok.AccessToken == "" || tok.Expiry.Before(sentAt) || tok.Expiry.After(sentAt.Add(maxLifetime)) {
			t.Fatalf("bad token: %v", tok)
		}
	})
}
