package authority

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestParseIntrospection(t *testing.T) {
	tests := []struct {
		name, mt, body string
		active         bool
		err            string // a part of the error; "" for none
	}{
		{name: "active", mt: "application/json", body: `{"active":true,"sub":"a","client_id":"c","token_type":"Bearer","username":"u"}`, active: true},
		{name: "inactive", mt: "application/json", body: `{"active":false,"sub":"ignored"}`},
		{name: "charset and bom", mt: "application/json", body: "\ufeff {\"active\":true} \n", active: true},
		{name: "no media type", mt: "", body: `{"active":true}`, active: true},
		{name: "+json", mt: "application/token-introspection+json", body: `{"active":true}`, active: true},
		{name: "html", mt: "text/html", body: `<html></html>`, err: "not JSON"},
		{name: "html labelled json", mt: "application/json", body: `<html></html>`, err: "not a JSON object"},
		{name: "array", mt: "application/json", body: `[{"active":true}]`, err: "not a JSON object"},
		{name: "empty", mt: "application/json", body: ` `, err: "empty body"},
		{name: "no active", mt: "application/json", body: `{"sub":"a"}`, err: `no "active"`},
		{name: "active string", mt: "application/json", body: `{"active":"true"}`, err: "not a boolean"},
		{name: "active null", mt: "application/json", body: `{"active":null}`, err: "not a boolean"},
		{name: "active number", mt: "application/json", body: `{"active":1}`, err: "not a boolean"},
		{name: "duplicate active", mt: "application/json", body: `{"active":false,"active":true}`, err: "more than once"},
		{name: "duplicate by case", mt: "application/json", body: `{"active":true,"ISS":"x","iss":"y"}`, err: "more than once"},
		{name: "duplicate token as name", mt: "application/json", body: `{"active":true,"SECRET-introspected":1,"SECRET-introspected":2}`, err: "more than once"},
		{name: "trailing data", mt: "application/json", body: `{"active":true}{"active":false}`, err: "after the JSON object"},
		{name: "truncated", mt: "application/json", body: `{"active":true,"sub":"a`, err: "not valid JSON"},
		{name: "bad member", mt: "application/json", body: `{"active":true,"sub":}`, err: "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := parseIntrospection([]byte(tt.body), tt.mt)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				if strings.Contains(err.Error(), "SECRET") {
					t.Fatalf("error quotes the body: %q", err.Error())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if in.Active != tt.active {
				t.Errorf("Active = %t", in.Active)
			}
			if !tt.active && (string(in.Claims) != `{"active":false}` || in.ClientID != "") {
				t.Errorf("an inactive answer keeps %q", in.Claims)
			}
		})
	}
	in, _ := parseIntrospection([]byte(tests[0].body), "application/json")
	if in.ClientID != "c" || in.TokenType != "Bearer" || in.Username != "u" {
		t.Errorf("typed fields: %+v", *in)
	}
}

// TestIntrospectionDuplicateNameIsNotQuoted: a server that echoes the
// token as a member name, twice, gets an error that does not hold it, in
// any form (the *Error's text, its Description).
func TestIntrospectionDuplicateNameIsNotQuoted(t *testing.T) {
	const token = "tok-0123456789abcdef"
	for _, name := range []string{token, "tok", strings.ToUpper(token)} {
		body := `{"active":true,"` + token + `":1,"` + name + `":2}`
		r := response{status: 200, contentType: "application/json", body: []byte(body)}
		in, err := r.introspection(func() time.Time { return time.Unix(1_800_000_000, 0) }, []string{token})
		if name == "tok" {
			if err != nil {
				t.Fatalf("distinct names refused: %v", err)
			}
			continue
		}
		if in != nil || err == nil {
			t.Fatalf("duplicate %q accepted", name)
		}
		var ae *Error
		if !errors.As(err, &ae) || !ae.Malformed || !strings.Contains(ae.Description, "more than once") {
			t.Fatalf("err = %#v", err)
		}
		for _, text := range []string{err.Error(), ae.Description, fmt.Sprintf("%+v", err)} {
			if strings.Contains(strings.ToLower(text), strings.ToLower(token)) || strings.Contains(text, "0123456789") {
				t.Fatalf("error holds the token: %q", text)
			}
		}
	}
}

// FuzzIntrospectionResponse feeds arbitrary replies to the introspection
// response reader: it must never panic, must return exactly one of an
// answer or an error, must answer only a JSON object with a boolean
// "active", and must never put the introspected token into an error.
func FuzzIntrospectionResponse(f *testing.F) {
	f.Add(200, "application/json", `{"active":true,"sub":"a","aud":["x"],"exp":1800000000}`)
	f.Add(200, "application/json", `{"active":false}`)
	f.Add(200, "application/json", `{"active":"true"}`)
	f.Add(200, "text/html", `<html>SECRET-introspected</html>`)
	f.Add(200, "application/json", `{"active":true,"active":false}`)
	f.Add(200, "application/json", `{"active":true,"SECRET-introspected":1,"SECRET-introspected":2}`)
	f.Add(401, "application/json", `{"error":"invalid_client","error_description":"SECRET-introspected"}`)
	f.Add(503, "text/plain", `down SECRET-introspected`)
	f.Add(200, "application/json", `{"error":"invalid_request"}`)
	const secret = "SECRET-introspected"
	f.Fuzz(func(t *testing.T, status int, contentType, body string) {
		if status < 100 || status > 999 {
			status = 200
		}
		r := response{status: status, contentType: contentType, retryAfter: "1", body: []byte(body)}
		in, err := r.introspection(func() time.Time { return time.Unix(1_800_000_000, 0) }, []string{secret})
		if (in == nil) == (err == nil) {
			t.Fatalf("answer %v and error %v", in, err)
		}
		if err != nil {
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error holds the token: %q", err.Error())
			}
			return
		}
		if status < 200 || status > 299 {
			t.Fatalf("status %d answered", status)
		}
		if !strings.Contains(body, "active") {
			t.Fatalf("answered without an active member: %q", body)
		}
	})
}
