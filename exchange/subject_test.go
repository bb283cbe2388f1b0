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

func TestKeyFieldsAreSeparated(t *testing.T) {
	var id [32]byte
	prep := func(tg Target) *Prepared {
		p, err := tg.Prepare()
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	// Moving a boundary between fields must change the key.
	a := prep(Target{Audiences: []string{"ab", "c"}})
	b := prep(Target{Audiences: []string{"a", "bc"}})
	c := prep(Target{Scopes: []string{"ab", "c"}})
	keys := map[Key]string{}
	for name, k := range map[string]Key{
		"a":   makeKey("tok", &a.digest, &id, nil),
		"b":   makeKey("tok", &b.digest, &id, nil),
		"c":   makeKey("tok", &c.digest, &id, nil),
		"sub": makeKey("tok2", &a.digest, &id, nil),
		"act": makeKey("tok", &a.digest, &id, &id),
	} {
		if other, dup := keys[k]; dup {
			t.Errorf("%s and %s share a key", name, other)
		}
		keys[k] = name
	}
	// A subject longer than the stack buffer hashes the same way.
	long := make([]byte, 3*stackKeyBuf)
	for i := range long {
		long[i] = 'x'
	}
	assert.Equal(t, makeKey(string(long), &a.digest, &id, nil), makeKey(string(long), &a.digest, &id, nil))
}
