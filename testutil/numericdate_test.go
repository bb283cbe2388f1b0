package testutil

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestVerifyNumericDate checks that the authority, as a subject token at
// its token endpoint and through a ResourceServer, refuses a token whose
// "exp", "nbf" or "iat" is not a JSON number (RFC 7519 §2), as the
// library's validator does; jwx alone reads a string of digits as a time.
func TestVerifyNumericDate(t *testing.T) {
	a := NewAuthority(t, Options{})
	a.AddClient(Client{ID: "c", Secret: "s", ExchangeAudiences: []string{"api"}})
	rs := NewResourceServer(t, a, "api")
	now := time.Now().Unix()
	tests := []struct {
		name   string
		claims string
		ok     bool
	}{
		{"numbers", fmt.Sprintf(`"iat":%d,"exp":%d`, now, now+3600), true},
		{"exp string", fmt.Sprintf(`"iat":%d,"exp":"%d"`, now, now+3600), false},
		{"exp RFC 3339", fmt.Sprintf(`"iat":%d,"exp":%q`, now, time.Now().Add(time.Hour).UTC().Format(time.RFC3339)), false},
		{"nbf string", fmt.Sprintf(`"iat":%d,"exp":%d,"nbf":"%d"`, now, now+3600, now), false},
		{"iat string", fmt.Sprintf(`"iat":"%d","exp":%d`, now, now+3600), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := a.SignPayload(fmt.Appendf(nil, `{"iss":%q,"sub":"alice","aud":["api","c"],%s}`, a.Issuer(), tt.claims))

			r := postToken(t, a, form("grant_type", GrantTokenExchange, "subject_token", tok,
				"subject_token_type", TokenTypeAccessToken, "audience", "api"), withBasic("c", "s"))
			if tt.ok {
				requireToken(t, r)
			} else {
				assert.Equal(t, http.StatusBadRequest, r.status)
				assert.Equal(t, "invalid_request", r.str("error"))
				assert.Contains(t, r.str("error_description"), "NumericDate")
			}

			req, err := http.NewRequest(http.MethodGet, rs.URL+"/x", nil)
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := rs.Client().Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			if tt.ok {
				assert.Equal(t, http.StatusOK, resp.StatusCode)
			} else {
				assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
			}
		})
	}
}
