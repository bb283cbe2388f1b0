package exchange

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestSubjectExpiry(t *testing.T) {
	seg := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	hdr := seg(`{"alg":"none"}`)
	tests := []struct {
		name  string
		token string
		want  time.Time
		ok    bool
	}{
		{"integer exp", hdr + "." + seg(`{"sub":"a","exp":1900000000}`) + ".sig", time.Unix(1900000000, 0), true},
		{"fractional exp", hdr + "." + seg(`{"exp":1900000000.5}`) + ".sig", time.Unix(1900000000, 5e8), true},
		{"padded segment", hdr + "." + base64.URLEncoding.EncodeToString([]byte(`{"exp":1900000000}`)) + ".sig", time.Unix(1900000000, 0), true},
		{"no exp", hdr + "." + seg(`{"sub":"a"}`) + ".sig", time.Time{}, false},
		{"string exp", hdr + "." + seg(`{"exp":"1900000000"}`) + ".sig", time.Time{}, false},
		{"negative exp", hdr + "." + seg(`{"exp":-1}`) + ".sig", time.Time{}, false},
		{"huge exp", hdr + "." + seg(`{"exp":1e300}`) + ".sig", time.Time{}, false},
		{"opaque token", "2YotnFZFEjr1zCsicMWpAA", time.Time{}, false},
		{"JWE (five parts)", "a.b.c.d.e", time.Time{}, false},
		{"bad base64", hdr + ".!!!.sig", time.Time{}, false},
		{"not JSON", hdr + "." + seg(`exp`) + ".sig", time.Time{}, false},
		{"empty payload", hdr + "..sig", time.Time{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := subjectExpiry(tc.token)
			assert.Equal(t, tc.ok, ok)
			assert.True(t, tc.want.Equal(got), "got %v, want %v", got, tc.want)
		})
	}
}
