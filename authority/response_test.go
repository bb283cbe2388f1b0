package authority

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var sentAt = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func fixedNow() time.Time { return sentAt }

func TestParseTokenJSON(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		wantErr  string
		lifetime time.Duration
		zero     bool // a zero-lifetime token
		check    func(t *testing.T, tok *Token)
	}{
		{name: "number", body: `{"access_token":"a","token_type":"Bearer","expires_in":300}`, lifetime: 300 * time.Second},
		{name: "string", body: `{"access_token":"a","token_type":"Bearer","expires_in":"120"}`, lifetime: 120 * time.Second},
		{name: "fraction", body: `{"access_token":"a","expires_in":1.5}`, lifetime: 1500 * time.Millisecond},
		{name: "missing expiry uses default", body: `{"access_token":"a"}`, lifetime: 42 * time.Second},
		{name: "null expiry uses default", body: `{"access_token":"a","expires_in":null}`, lifetime: 42 * time.Second},
		{name: "zero expiry is zero lifetime", body: `{"access_token":"a","expires_in":0}`, zero: true},
		{name: "zero string expiry is zero lifetime", body: `{"access_token":"a","expires_in":"0"}`, zero: true},
		{name: "under a second is zero lifetime", body: `{"access_token":"a","expires_in":0.999}`, zero: true},
		{name: "one second", body: `{"access_token":"a","expires_in":1}`, lifetime: time.Second},
		{name: "huge expiry capped", body: `{"access_token":"a","expires_in":1e300}`, lifetime: maxLifetime},
		{name: "all fields", body: `{"access_token":"a","token_type":"N_A","issued_token_type":"urn:ietf:params:oauth:token-type:jwt","refresh_token":"r","expires_in":60,"scope":"x y"}`,
			lifetime: time.Minute, check: func(t *testing.T, tok *Token) {
				assert.Equal(t, "N_A", tok.TokenType)
				assert.Equal(t, TokenTypeJWT, tok.IssuedTokenType)
				assert.Equal(t, "r", tok.RefreshToken)
				assert.Equal(t, []string{"x", "y"}, tok.Scopes())
			}},
		{name: "token type defaults to Bearer", body: `{"access_token":"a"}`, lifetime: 42 * time.Second,
			check: func(t *testing.T, tok *Token) { assert.Equal(t, "Bearer", tok.TokenType) }},
		{name: "negative expiry", body: `{"access_token":"a","expires_in":-1}`, wantErr: "negative"},
		{name: "word expiry", body: `{"access_token":"a","expires_in":"soon"}`, wantErr: "not a number"},
		{name: "NaN expiry", body: `{"access_token":"a","expires_in":"NaN"}`, wantErr: "not a number"},
		{name: "Inf expiry", body: `{"access_token":"a","expires_in":"Inf"}`, wantErr: "not a number"},
		{name: "hex expiry", body: `{"access_token":"a","expires_in":"0x10"}`, wantErr: "not a number"},
		{name: "bool expiry", body: `{"access_token":"a","expires_in":true}`, wantErr: "not a number"},
		{name: "no access token", body: `{"token_type":"Bearer"}`, wantErr: "no access_token"},
		{name: "empty", body: ``, wantErr: "empty body"},
		{name: "html", body: `<html>ok</html>`, wantErr: "not a JSON object"},
		{name: "array", body: `[1]`, wantErr: "not a JSON object"},
		{name: "truncated", body: `{"access_token":"sekrit-value`, wantErr: "not valid JSON"},
		{name: "wrong type", body: `{"access_token":12345}`, wantErr: `field "access_token" has the wrong JSON type`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := parseTokenBody([]byte(tt.body), "application/json", sentAt, 42*time.Second)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.NotContains(t, err.Error(), "sekrit")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, sentAt.Add(tt.lifetime), tok.Expiry)
			assert.Equal(t, tt.zero, tok.ZeroLifetime(), "ZeroLifetime")
			if tt.check != nil {
				tt.check(t, tok)
			}
		})
	}
}

func TestResponseRefusal(t *testing.T) {
	secret := "the-subject-token-value"
	tests := []struct {
		name      string
		resp      response
		code      ErrorCode
		temporary bool
		want      []string
	}{
		{name: "oauth error", resp: response{status: 400, contentType: "application/json",
			body: []byte(`{"error":"invalid_grant","error_description":"Session not active","error_uri":"https://e/x"}`)},
			code: ErrInvalidGrant, want: []string{"invalid_grant", "Session not active", "HTTP 400"}},
		{name: "8693 invalid_request", resp: response{status: 400, body: []byte(`{"error":"invalid_request","error_description":"subject token expired"}`)},
			code: ErrInvalidRequest, want: []string{"invalid_request", "subject token expired"}},
		{name: "description echoing the token is redacted", resp: response{status: 400,
			body: []byte(`{"error":"invalid_request","error_description":"bad token the-subject-token-value"}`)},
			code: ErrInvalidRequest, want: []string{"bad token [redacted]"}},
		{name: "server error json", resp: response{status: 500, body: []byte(`{"error":"server_error"}`)},
			code: ErrServerError, temporary: true},
		{name: "429 with retry-after", resp: response{status: 429, retryAfter: "7", body: []byte(`{"error":"slow_down"}`)},
			temporary: true, want: []string{"retry after 7s"}},
		{name: "html page", resp: response{status: 502, contentType: "text/html; charset=utf-8",
			body: []byte("<html>\n<body>Bad\tGateway " + strings.Repeat("x", 500) + "</body></html>")},
			temporary: true, want: []string{"HTTP 502", "text/html", `"<html> <body>Bad Gateway x`}},
		{name: "empty 503", resp: response{status: 503}, temporary: true, want: []string{"HTTP 503", "empty body"}},
		{name: "404 text", resp: response{status: 404, contentType: "text/plain", body: []byte("not found")},
			want: []string{"HTTP 404", "not found"}},
		{name: "error not a string", resp: response{status: 400, body: []byte(`{"error":42}`)}, want: []string{"HTTP 400"}},
		{name: "control characters", resp: response{status: 400, body: []byte("{\"error\":\"invalid_scope\",\"error_description\":\"a\\u0000b\\nc\"}")},
			code: ErrInvalidScope, want: []string{"a b c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.resp.token(sentAt, time.Minute, fixedNow, []string{secret})
			require.Error(t, err)
			var ae *Error
			require.True(t, errors.As(err, &ae))
			if tt.code != "" {
				assert.ErrorIs(t, err, tt.code)
			}
			assert.Equal(t, tt.temporary, ae.Temporary(), "Temporary")
			assert.Equal(t, tt.temporary, IsTemporary(err), "IsTemporary")
			assert.Equal(t, !tt.temporary, IsPermanent(err), "IsPermanent")
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.NotContains(t, err.Error(), secret)
			assert.LessOrEqual(t, len(err.Error()), 1024)
		})
	}
}

func TestResponseTooLarge(t *testing.T) {
	_, err := response{status: 200, tooLarge: true, readErr: errBodyTooLarge}.token(sentAt, time.Minute, fixedNow, nil)
	var ae *Error
	require.True(t, errors.As(err, &ae))
	assert.True(t, ae.Malformed)
	assert.False(t, ae.Temporary(), "a 2xx body over the limit is what the server sends every time")
	assert.Contains(t, err.Error(), "exceeds")
}

func TestParseRetryAfter(t *testing.T) {
	tests := map[string]time.Duration{
		"":                              0,
		"0":                             0,
		"-5":                            0,
		"30":                            30 * time.Second,
		"soon":                          0,
		"Fri, 02 Jan 2026 03:05:05 GMT": time.Minute,
		"Fri, 02 Jan 2026 03:00:00 GMT": 0,
		"999999999999":                  maxLifetime,
	}
	for in, want := range tests {
		assert.Equal(t, want, parseRetryAfter(in, fixedNow), "Retry-After %q", in)
	}
}

func TestSanitize(t *testing.T) {
	assert.Equal(t, "a b", sanitize("  a\x00\x01  b \n", 10, nil))
	assert.Equal(t, "abc…", sanitize("abcdef", 3, nil))
	assert.Equal(t, "x [redacted] y", sanitize("x hunter22 y", 50, []string{"hunter22", "", "ab"}))
	assert.Equal(t, "ab", sanitize("ab", 50, []string{"ab"}), "secrets shorter than 4 bytes are not searched for")
}
