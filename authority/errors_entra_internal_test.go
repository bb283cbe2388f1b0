package authority

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestClaimsChallenge(t *testing.T) {
	const secret = "SECRET-subject-token"
	forms := credentialForms([]string{secret})
	deep := strings.Repeat(`{"a":`, maxClaimsDepth+2) + "1" + strings.Repeat("}", maxClaimsDepth+2)
	tests := []struct {
		name, raw, want string
	}{
		{"Entra step-up", `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`, `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`},
		{"re-encoded compactly, members sorted", "{ \"access_token\" : {\"polids\":{\"values\":[\"<g>\"],\"essential\":true}} }", `{"access_token":{"polids":{"essential":true,"values":["<g>"]}}}`},
		{"big number kept", `{"n":12345678901234567890}`, `{"n":12345678901234567890}`},
		{"empty", ``, ``},
		{"not JSON", `access_token=x`, ``},
		{"array", `["a"]`, ``},
		{"null", `null`, ``},
		{"two values", `{} {}`, ``},
		{"the secret", `{"access_token":{"v":"` + secret + `"}}`, ``},
		{"the secret escaped", `{"access_token":{"v":"\u0053ECRET-subject-token"}}`, ``},
		{"a JWT", `{"x":{"v":"eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0."}}`, ``},
		{"a credential-named string", `{"access_token":"opaque"}`, ``},
		{"an assertion member", `{"id_token":{"assertion":"x"}}`, ``},
		{"too deep", deep, ``},
		{"too large", `{"v":"` + strings.Repeat("a", maxClaims) + `"}`, ``},
		{"far too large", `{"v":"` + strings.Repeat("a", 5*maxClaims) + `"}`, ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, claimsChallenge(tt.raw, forms))
		})
	}
}

func TestReadEntra(t *testing.T) {
	body := `{"error":"invalid_grant","error_description":"AADSTS50013: Assertion failed signature validation.",` +
		`"error_codes":[50013,1.5,-1,"7",99999999999,1,2,3,4,5,6,7,8,9],"trace_id":"t\u0000-1","correlation_id":"SECRET-subject-token",` +
		`"claims":"{\"access_token\":{\"acrs\":{\"essential\":true,\"value\":\"c1\"}}}"}`
	r := response{status: 400, contentType: "application/json", body: []byte(body)}
	_, err := r.token(time.Now(), time.Minute, time.Now, []string{"SECRET-subject-token"})
	e, ok := err.(*Error)
	if !ok {
		t.Fatalf("%T", err)
	}
	assert.Equal(t, []int{50013, 1, 2, 3, 4, 5, 6, 7}, e.ErrorCodes)
	assert.Equal(t, "t -1", e.TraceID)
	assert.Equal(t, "[redacted]", e.CorrelationID)
	assert.Equal(t, `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`, e.Claims)
	assert.Empty(t, e.AuthorizationURI, "set by the Client from its metadata, never from the reply")
}

func TestChallengeURI(t *testing.T) {
	for raw, want := range map[string]string{
		"https://login.microsoftonline.com/t/oauth2/v2.0/authorize": "https://login.microsoftonline.com/t/oauth2/v2.0/authorize",
		"":                   "",
		"ftp://x/authorize":  "",
		`https://x/a"b`:      "",
		`https://x/a\b`:      "",
		"https://x/a b":      "",
		"https://user:pw@x/": "",
		"https://x/" + strings.Repeat("a", maxDescription): "",
	} {
		assert.Equal(t, want, challengeURI(raw), raw)
	}
}
