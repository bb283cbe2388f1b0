package middleware

import (
	"encoding/json"
	"testing"
)

// FuzzPlainClaims checks the fast paths of the claims parse against
// encoding/json: for every valid JSON value, plainString and plainStrings
// either decline or read exactly what json.Unmarshal reads.
func FuzzPlainClaims(f *testing.F) {
	for _, s := range []string{
		`"alice"`, `""`, `"a\"b"`, `"\u00e9"`, `"é"`, "\"\xff\"", `"a\\"`, `null`, `1`,
		`[]`, `[ ]`, `["a"]`, `["a","b"]`, ` [ "a" , "b" ] `, `["a\"","b"]`, `["a",1]`, `[["a"]]`,
		`["a,b","c"]`, `["a"]x`, `[`, `"x`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return
		}
		if got, ok := plainString(raw); ok {
			var want string
			if err := json.Unmarshal(raw, &want); err != nil || got != want {
				t.Fatalf("plainString(%q) = %q; json: %q, %v", raw, got, want, err)
			}
		}
		if got, ok := plainStrings(raw); ok {
			var want []string
			err := json.Unmarshal(raw, &want)
			if err != nil || len(got) != len(want) || (got == nil) != (want == nil) {
				t.Fatalf("plainStrings(%q) = %q; json: %q, %v", raw, got, want, err)
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("plainStrings(%q) = %q; json: %q", raw, got, want)
				}
			}
		}
	})
}
