package exchange

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
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
	// Short subjects and one longer than the stack buffer hash as the
	// length-prefixed encoding, computed here independently.
	long := make([]byte, 3*stackKeyBuf)
	for i := range long {
		long[i] = 'x'
	}
	actor := sha256.Sum256([]byte("actor token"))
	for _, subject := range []string{"tok", string(long)} {
		for _, act := range []*[32]byte{nil, &actor} {
			h := sha256.New()
			var n [8]byte
			binary.BigEndian.PutUint64(n[:], uint64(len(subject)))
			h.Write(n[:])
			h.Write([]byte(subject))
			h.Write(a.digest[:])
			h.Write(id[:])
			if act == nil {
				h.Write([]byte{0})
			} else {
				h.Write([]byte{1})
				h.Write(act[:])
			}
			var want Key
			h.Sum(want[:0])
			assert.Equal(t, want, makeKey(subject, &a.digest, &id, act), "subject of %d bytes, actor %v", len(subject), act != nil)
		}
	}
}
