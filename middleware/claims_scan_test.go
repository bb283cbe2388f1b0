package middleware

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// scanReference is what scanClaims must agree with: encoding/json's
// verdict on the document, its first byte an object's, and the members
// by exact name with the last duplicate winning, as a map keeps them.
func scanReference(payload []byte) (registered, bool) {
	var r registered
	if p := bytes.TrimLeft(payload, " \t\r\n"); len(p) == 0 || p[0] != '{' {
		return r, false
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(payload, &m); err != nil {
		return r, false
	}
	for k, v := range m {
		if p := r.slot([]byte(k)); p != nil {
			*p = v
		}
	}
	return r, true
}

func sameRegistered(a, b registered) bool {
	pairs := [][2][]byte{{a.iss, b.iss}, {a.sub, b.sub}, {a.aud, b.aud}, {a.exp, b.exp}, {a.nbf, b.nbf}, {a.iat, b.iat}, {a.jti, b.jti}, {a.scope, b.scope}, {a.scp, b.scp}}
	for _, p := range pairs {
		if !bytes.Equal(p[0], p[1]) || (p[0] == nil) != (p[1] == nil) {
			return false
		}
	}
	return true
}

func TestScanClaims(t *testing.T) {
	deep := strings.Repeat("[", maxNesting) + strings.Repeat("]", maxNesting)
	tooDeep := strings.Repeat("[", maxNesting+1) + strings.Repeat("]", maxNesting+1)
	for _, tc := range []struct {
		name, payload string
		ok            bool
		exp, iss      string // the raw values picked out
	}{
		{"registered", `{"iss":"a","exp":1700000000}`, true, "1700000000", `"a"`},
		{"whitespace", " \t{ \"exp\" :\n12 , \"iss\": \"a\" }\r\n", true, "12", `"a"`},
		{"empty object", `{}`, true, "", ""},
		{"last duplicate wins", `{"exp":1,"exp":2}`, true, "2", ""},
		{"escaped name", `{"\u0065xp":3}`, true, "3", ""},
		{"names are case-sensitive", `{"EXP":"x","Iss":1}`, true, "", ""},
		{"other claims skipped", `{"a":{"b":[1,-2.5e+3,true,false,null,"\"\\\/\b\f\n\r\t\u00e9"]},"exp":4}`, true, "4", ""},
		{"high bytes in strings", "{\"iss\":\"\xff\xfe\"}", true, "", "\"\xff\xfe\""},
		{"nesting at the limit", `{"x":` + deep[1:len(deep)-1] + `}`, true, "", ""},
		{"nesting over the limit", `{"x":` + tooDeep + `}`, false, "", ""},
		{"array", `[]`, false, "", ""},
		{"null", `null`, false, "", ""},
		{"trailing garbage", `{} x`, false, "", ""},
		{"two objects", `{}{}`, false, "", ""},
		{"trailing comma", `{"a":1,}`, false, "", ""},
		{"leading zero", `{"a":01}`, false, "", ""},
		{"bare minus", `{"a":-}`, false, "", ""},
		{"no fraction digits", `{"a":1.}`, false, "", ""},
		{"no exponent digits", `{"a":1e}`, false, "", ""},
		{"control character", "{\"a\":\"\x01\"}", false, "", ""},
		{"bad escape", `{"a":"\x"}`, false, "", ""},
		{"short unicode escape", `{"a":"\u12"}`, false, "", ""},
		{"unterminated string", `{"a":"b`, false, "", ""},
		{"unterminated object", `{"a":1`, false, "", ""},
		{"bad literal", `{"a":tru}`, false, "", ""},
		{"single quotes", `{'a':1}`, false, "", ""},
		{"empty", ``, false, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := scanClaims([]byte(tc.payload))
			if (err == nil) != tc.ok {
				t.Fatalf("scanClaims(%q) error = %v, want ok = %v", tc.payload, err, tc.ok)
			}
			if ref, ok := scanReference([]byte(tc.payload)); ok != tc.ok {
				t.Fatalf("the reference says ok = %v", ok)
			} else if tc.ok && !sameRegistered(r, ref) {
				t.Fatalf("scanClaims and the reference disagree: %+v vs %+v", r, ref)
			}
			if string(r.exp) != tc.exp || string(r.iss) != tc.iss {
				t.Fatalf("exp %q iss %q, want %q %q", r.exp, r.iss, tc.exp, tc.iss)
			}
		})
	}
}

// FuzzScanClaims checks that the one-pass scanner accepts exactly the
// claim sets encoding/json accepts as objects and picks out the same
// values of the registered claims.
func FuzzScanClaims(f *testing.F) {
	for _, s := range []string{
		`{"iss":"a","aud":["b","c"],"exp":1700000000,"nbf":1.5e9,"scope":"x y","scp":["z"]}`,
		`{"exp":1,"exp":2,"\u0065xp":3}`, `{"a":{"b":[1,{"c":null}]},"sub":"\ud83d\ude00"}`,
		`{}`, ` { } `, `[]`, `null`, `{"a":01}`, `{"a":"\x"}`, "{\"a\":\"\xff\"}", `{"a":1}x`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		got, err := scanClaims(payload)
		want, ok := scanReference(payload)
		if (err == nil) != ok {
			t.Fatalf("scanClaims(%q): error %v, encoding/json says ok = %v", payload, err, ok)
		}
		if ok && !sameRegistered(got, want) {
			t.Fatalf("scanClaims(%q) = %+v, encoding/json %+v", payload, got, want)
		}
	})
}
