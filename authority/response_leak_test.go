package authority

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The issued token of a 2xx reply that is not a bare JSON object must not
// reach the error, and such a reply, which arrived whole, is refused for
// good: asking again would get the same answer.
func TestSuccessBodyNeverExcerpted(t *testing.T) {
	const issued = "ISSUED-access-token-value"
	tests := []struct {
		name        string
		contentType string
		body        string
		lifetime    time.Duration // of the token, when one is expected
		scope       string
		code        ErrorCode // the refusal, when the body holds one
	}{
		{name: "BOM before JSON", contentType: "application/json", body: "\ufeff{\"access_token\":\"" + issued + "\",\"expires_in\":300}", lifetime: 300 * time.Second},
		{name: "BOM and space before JSON", contentType: "application/json; charset=utf-8", body: "\ufeff \n{\"access_token\":\"" + issued + "\"}", lifetime: 42 * time.Second},
		{name: "form-encoded", contentType: "application/x-www-form-urlencoded", body: "access_token=" + issued + "&token_type=bearer&expires_in=300&scope=a+b", lifetime: 300 * time.Second, scope: "a b"},
		{name: "form-encoded with charset", contentType: "application/x-www-form-urlencoded; charset=utf-8", body: "access_token=" + issued, lifetime: 42 * time.Second},
		{name: "form-encoded error", contentType: "application/x-www-form-urlencoded", body: "error=invalid_grant&error_description=gone", code: ErrInvalidGrant},
		{name: "anti-XSSI prefix", contentType: "application/json", body: ")]}'\n{\"access_token\":\"" + issued + "\"}"},
		{name: "form-encoded sent as JSON", contentType: "application/json", body: "access_token=" + issued + "&token_type=bearer"},
		{name: "form-encoded sent as text", contentType: "text/plain", body: "access_token=" + issued + "&token_type=bearer"},
		{name: "form-encoded without type", body: "access_token=" + issued + "&token_type=bearer"},
		{name: "form without access_token", contentType: "application/x-www-form-urlencoded", body: "token_type=bearer&junk=" + issued},
		{name: "login page", contentType: "text/html", body: "<html><title>Sign in</title>" + issued + "</html>"},
		{name: "JSON array", contentType: "application/json", body: `["` + issued + `"]`},
		{name: "JSON with wrong types", contentType: "application/json", body: `{"access_token":"` + issued + `","expires_in":{"x":1}}`},
		{name: "truncated JSON", contentType: "application/json", body: `{"access_token":"` + issued},
		{name: "empty", contentType: "application/json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := response{status: 200, contentType: tt.contentType, body: []byte(tt.body)}
			tok, err := r.token(sentAt, 42*time.Second, fixedNow, nil)
			if tt.lifetime > 0 {
				require.NoError(t, err)
				assert.Equal(t, issued, tok.AccessToken)
				assert.Equal(t, sentAt.Add(tt.lifetime), tok.Expiry)
				assert.Equal(t, tt.scope, tok.Scope)
				return
			}
			require.Error(t, err)
			var ae *Error
			require.True(t, errors.As(err, &ae))
			if tt.code != "" {
				assert.ErrorIs(t, err, tt.code)
			} else {
				assert.True(t, ae.Malformed)
			}
			assert.Empty(t, ae.Excerpt, "a 2xx body is never excerpted")
			assert.False(t, IsTemporary(err), "IsTemporary")
			assert.True(t, IsPermanent(err), "IsPermanent")
			for _, out := range []string{ae.Excerpt, ae.Description, err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
				assert.NotContains(t, out, issued)
				assert.NotContains(t, out, "ISSUED")
			}
		})
	}
}

// An error body that echoes the request shows each credential in the form
// it was sent in; every form is redacted, and so is the value of every
// credential-bearing field, known or not.
func TestErrorExcerptRedactsEveryForm(t *testing.T) {
	const (
		secret  = "p@ss/w+rd=1"
		subject = "opaque+subject/token=="
		id      = "gateway"
	)
	basic := base64.StdEncoding.EncodeToString([]byte(id + ":" + "p%40ss%2Fw%2Brd%3D1"))
	sent := []string{secret, subject, "Basic " + basic, basic}
	tests := []struct {
		name        string
		contentType string
		body        string
		want        string // in the excerpt
		noExcerpt   bool
		hidden      []string
	}{
		{name: "form-encoded echo", contentType: "text/plain",
			body:   "rejected: grant_type=x&client_secret=p%40ss%2Fw%2Brd%3D1&subject_token=opaque%2Bsubject%2Ftoken%3D%3D",
			want:   "rejected: grant_type=x&client_secret=[redacted]",
			hidden: []string{"p%40ss", "opaque%2B", "%2Fw%2Brd"}},
		{name: "lowercase percent-encoding", contentType: "text/plain",
			body:   "seen p%40ss%2fw%2brd%3d1 and opaque%2bsubject%2ftoken%3d%3d",
			hidden: []string{"p%40ss%2fw", "opaque%2b"}},
		{name: "Basic header echo", contentType: "text/html",
			body:   "<pre>Authorization: Basic " + basic + "</pre>",
			hidden: []string{basic, basic[:20]}},
		{name: "Basic value alone", contentType: "text/plain", body: "credentials " + basic + " refused",
			want: "credentials [redacted] refused", hidden: []string{basic[:20]}},
		{name: "JSON-escaped echo", contentType: "application/json",
			body:   `{"message":"bad secret p@ss\/w\u002brd=1 for opaque\u002Bsubject\/token\u003d\u003d"}`,
			hidden: []string{`p@ss\/w`, `opaque\u002B`}},
		{name: "unknown issued token in JSON", contentType: "application/json",
			body:   `{"status":"denied","access_token":"SOMEONE-ELSES-token","id_token":"eyJ.x.y","password":"hunter2"}`,
			want:   `{"status":"denied","access_token":"[redacted]"`,
			hidden: []string{"SOMEONE-ELSES", "eyJ.x.y", "hunter2"}},
		{name: "unknown credential fields in a form echo", contentType: "text/plain",
			body:   "refresh_token=RT-abc&assertion=AS-abc&client_assertion=CA-abc&actor_token=AC-abc&password=pw-abc",
			hidden: []string{"RT-abc", "AS-abc", "CA-abc", "AC-abc", "pw-abc"}},
		{name: "escaped JSON inside a JSON string", contentType: "application/problem+json",
			body:   `{"detail":"request was {\"subject_token\":\"OTHER-subject\"}"}`,
			hidden: []string{"OTHER-subject"}},
		{name: "binary body is not excerpted", contentType: "application/octet-stream", body: "plain words", noExcerpt: true},
		{name: "no content type is not excerpted", body: "plain words", noExcerpt: true},
		{name: "XML is not excerpted", contentType: "application/xml", body: "<e>plain words</e>", noExcerpt: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := response{status: 400, contentType: tt.contentType, body: []byte(tt.body)}
			_, err := r.token(sentAt, time.Minute, fixedNow, sent)
			var ae *Error
			require.True(t, errors.As(err, &ae))
			if tt.noExcerpt {
				assert.Empty(t, ae.Excerpt)
				return
			}
			require.NotEmpty(t, ae.Excerpt)
			if tt.want != "" {
				assert.Contains(t, ae.Excerpt, tt.want)
			}
			for _, out := range []string{ae.Excerpt, err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
				for _, s := range append(append([]string{}, sent...), tt.hidden...) {
					assert.NotContains(t, out, s)
				}
				for _, s := range []string{secret, subject, "w+rd", "subject/token"} {
					assert.NotContains(t, out, s)
				}
			}
		})
	}
}

// Only the start of a long text is read; a credential the window cuts in
// two must not show its start.
func TestSanitizeWindow(t *testing.T) {
	const secret = "p@ss/w+rd=1-long-enough"
	forms := credentialForms([]string{secret})
	window := 4*maxExcerpt + 1<<10
	tests := []struct {
		name string
		text string
		want string
	}{
		{name: "secret cut by the window after blank space", text: strings.Repeat(" ", window-5) + secret + " tail", want: ""},
		{name: "secret cut by the window after control characters", text: strings.Repeat("\x00", window-8) + secret, want: ""},
		{name: "long page", text: "Forbidden: " + secret + " " + strings.Repeat("x", 2<<20), want: "Forbidden: [redacted] " + strings.Repeat("x", maxExcerpt-22) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := sanitize(tt.text, maxExcerpt, forms)
			assert.Equal(t, tt.want, got)
			assert.NotContains(t, got, "p@ss")
		})
	}
}
