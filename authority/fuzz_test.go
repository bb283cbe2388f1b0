package authority

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
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
			if strings.Contains(err.Error(), secret) || strings.Contains(fmt.Sprintf("%#v", ae), secret) {
				t.Fatalf("error leaks the secret: %#v", ae)
			}
			if ae.Claims != "" {
				var obj map[string]any
				if len(ae.Claims) > maxClaims || json.Unmarshal([]byte(ae.Claims), &obj) != nil || obj == nil {
					t.Fatalf("claims challenge %q is not a bounded JSON object", ae.Claims)
				}
			}
			if len(ae.ErrorCodes) > maxErrorCodes {
				t.Fatalf("%d error codes", len(ae.ErrorCodes))
			}
			return
		}
		if tok.AccessToken == "" || tok.Expiry.Before(sentAt) || tok.Expiry.After(sentAt.Add(maxLifetime)) {
			t.Fatalf("bad token: %v", tok)
		}
	})
}

// The credentials FuzzRedaction's request carried.
const (
	fuzzClientID = "gate way"
	fuzzSecret   = "p@ss/w+rd=1"
	fuzzSubject  = "opaque+subject/token=="
	fuzzPassword = "hunter2 hunter2"
)

// fuzzBasic is the Authorization value client_secret_basic sends for the
// fuzz client (RFC 6749 §2.3.1: each part form-encoded, then base64).
var fuzzBasic = base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(fuzzClientID) + ":" + url.QueryEscape(fuzzSecret)))

// FuzzRedaction feeds token-endpoint replies, 2xx and errors, seeded with
// the request's credentials in the forms a server echoes them in: as
// sent, form-encoded, inside the base64 of the Basic header, JSON-escaped
// (\/ and \u002b). No excerpt, error string, %+v or %#v of the error may
// contain any of them, and a 2xx body is never excerpted. Its seeds are in
// testdata/fuzz/FuzzRedaction.
func FuzzRedaction(f *testing.F) {
	sent := []string{fuzzSecret, fuzzSubject, fuzzPassword, "Basic " + fuzzBasic, fuzzBasic}
	forbidden := []string{
		fuzzSecret, fuzzSubject, fuzzPassword, fuzzBasic,
		url.QueryEscape(fuzzSecret), url.QueryEscape(fuzzSubject), url.QueryEscape(fuzzPassword),
		`p@ss\/w+rd=1`, `p@ss\/w\u002brd=1`, `opaque\u002bsubject\/token==`,
	}
	f.Fuzz(func(t *testing.T, status int, contentType, body string) {
		if status < 100 || status > 999 {
			status = 200
		}
		r := response{status: status, contentType: contentType, body: []byte(body)}
		_, err := r.token(sentAt, time.Minute, fixedNow, sent)
		if err == nil {
			return
		}
		var ae *Error
		if !errors.As(err, &ae) {
			t.Fatalf("error %T is not *Error", err)
		}
		if status >= 200 && status < 300 && ae.Excerpt != "" {
			t.Fatalf("a 2xx body was excerpted: %q", ae.Excerpt)
		}
		for _, out := range []string{ae.Excerpt, ae.Description, ae.Code, ae.URI, err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
			for _, s := range forbidden {
				if strings.Contains(out, s) {
					t.Fatalf("%q leaks %q", out, s)
				}
			}
		}
	})
}
