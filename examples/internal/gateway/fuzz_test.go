package gateway

import (
	"reflect"
	"strings"
	"testing"
)

// FuzzParseRoute checks that ParseRoute never panics, that an accepted
// route is well formed, and that its String parses back to the same route.
func FuzzParseRoute(f *testing.F) {
	f.Add("/api/orders=http://127.0.0.1:9001;audience=orders;scope=orders.read")
	f.Add("/api/billing=https://billing.internal/v1;mode=client;audience=billing")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRoute(s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error of several lines: %q", err)
			}
			return
		}
		if !strings.HasPrefix(r.Prefix, apiPrefix) || r.Prefix != apiPrefix+r.Service || r.URL == nil || r.Mode == "" {
			t.Fatalf("ParseRoute(%q) = %#v: malformed", s, r)
		}
		again, err := ParseRoute(r.String())
		if err != nil {
			t.Fatalf("ParseRoute(%q).String() = %q does not parse: %v", s, r, err)
		}
		if r.String() != again.String() || !reflect.DeepEqual(r.URL, again.URL) {
			t.Fatalf("round trip: %q became %q", r, again)
		}
	})
}
