package middleware_test

import (
	"errors"
	"testing"
	"time"

	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseClaimsRegistered(t *testing.T) {
	c, err := middleware.ParseClaims([]byte(`{
		"iss": "https://as.example", "sub": "alice", "aud": ["orders", "billing"],
		"exp": 1700000060, "nbf": 1700000000.5, "iat": 1.7e9, "jti": "j-1",
		"scope": "read  write", "scp": ["admin"], "email": "alice@example.com"}`))
	require.NoError(t, err)
	assert.Equal(t, "https://as.example", c.Issuer)
	assert.Equal(t, "alice", c.Subject)
	assert.Equal(t, []string{"orders", "billing"}, c.Audience)
	assert.Equal(t, time.Unix(1700000060, 0), c.Expiry)
	assert.Equal(t, time.Unix(1700000000, 5e8), c.NotBefore)
	assert.Equal(t, time.Unix(1700000000, 0), c.IssuedAt)
	assert.Equal(t, "j-1", c.ID)
	assert.Equal(t, []string{"read", "write", "admin"}, c.Scopes)
	assert.True(t, c.HasScopes("write", "admin"))
	assert.False(t, c.HasScopes("write", "delete"))

	var extra struct {
		Email string `json:"email"`
	}
	require.NoError(t, c.Decode(&extra))
	assert.Equal(t, "alice@example.com", extra.Email)
}

func TestParseClaimsOptionalForms(t *testing.T) {
	c, err := middleware.ParseClaims([]byte(`{"aud": "orders", "scp": "read write", "sub": null}`))
	require.NoError(t, err)
	assert.Equal(t, []string{"orders"}, c.Audience)
	assert.Equal(t, []string{"read", "write"}, c.Scopes)
	assert.True(t, c.Expiry.IsZero())
	assert.Empty(t, c.Subject)

	var zero *middleware.Claims
	assert.False(t, zero.HasScopes("read"))
	assert.True(t, zero.HasScopes())
	assert.Error(t, zero.Decode(&struct{}{}))
}

// TestParseClaimsRefusesWrongTypes pins RFC 7519's types: a NumericDate is a
// JSON number, never a string, and the error names the claim but not its
// value.
func TestParseClaimsRefusesWrongTypes(t *testing.T) {
	tests := []struct{ name, payload, claim string }{
		{"exp as string", `{"exp": "1700000000"}`, `"exp"`},
		{"nbf as string", `{"nbf": "1700000000"}`, `"nbf"`},
		{"iat as bool", `{"iat": true}`, `"iat"`},
		{"exp as object", `{"exp": {"secret-value": 1}}`, `"exp"`},
		{"exp as array", `{"exp": [1700000000]}`, `"exp"`},
		{"exp negative", `{"exp": -1}`, `"exp"`},
		{"exp beyond 2^53", `{"exp": 1e300}`, `"exp"`},
		{"exp null", `{"exp": null}`, `"exp"`},
		{"iss as number", `{"iss": 42}`, `"iss"`},
		{"sub as object", `{"sub": {"id": "secret-value"}}`, `"sub"`},
		{"jti as number", `{"jti": 1}`, `"jti"`},
		{"aud as number", `{"aud": 1}`, `"aud"`},
		{"aud with a number", `{"aud": ["a", 1]}`, `"aud"`},
		{"scope as array", `{"scope": ["read"]}`, `"scope"`},
		{"scp as object", `{"scp": {"read": true}}`, `"scp"`},
		{"array payload", `["secret-value"]`, "not a JSON object"},
		{"empty payload", ``, "not a JSON object"},
		{"truncated payload", `{"exp": 1`, "not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := middleware.ParseClaims([]byte(tt.payload))
			require.Error(t, err)
			if tt.claim == "not a JSON object" {
				assert.ErrorIs(t, err, middleware.ErrMalformedToken)
			} else {
				assert.ErrorIs(t, err, middleware.ErrInvalidClaim)
			}
			assert.Contains(t, err.Error(), tt.claim)
			assert.NotContains(t, err.Error(), "secret-value")
			assert.NotContains(t, err.Error(), "1700000000")
		})
	}
}

func FuzzParseClaims(f *testing.F) {
	for _, seed := range []string{
		`{"iss":"a","aud":["b"],"exp":1700000000}`,
		`{"exp":"1700000000"}`,
		`{"aud":"x","scp":"a b","nbf":1.5e9}`,
		`{"exp":1e300}`,
		`[]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		c, err := middleware.ParseClaims(payload)
		if err != nil {
			if !errors.Is(err, middleware.ErrInvalidClaim) && !errors.Is(err, middleware.ErrMalformedToken) {
				t.Fatalf("error wraps neither ErrInvalidClaim nor ErrMalformedToken: %v", err)
			}
			return
		}
		for _, tm := range []time.Time{c.Expiry, c.NotBefore, c.IssuedAt} {
			if !tm.IsZero() && (tm.Before(time.Unix(0, 0)) || tm.After(time.Unix(1<<53, 0))) {
				t.Fatalf("NumericDate out of range: %v", tm)
			}
		}
	})
}
