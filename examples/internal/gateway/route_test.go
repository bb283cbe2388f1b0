package gateway

import (
	"strings"
	"testing"
)

func TestParseRoute(t *testing.T) {
	for _, tc := range []struct {
		in, want string // want: the route's String, or an error substring
		fail     bool
	}{
		{in: "/api/orders=http://127.0.0.1:9001", want: "/api/orders=http://127.0.0.1:9001;audience=orders"},
		{in: "/api/orders/=http://127.0.0.1:9001/;audience=orders;scope=orders.read",
			want: "/api/orders=http://127.0.0.1:9001;audience=orders;scope=orders.read"},
		{in: "/api/orders=https://orders.internal/base;scope=a b;scope=c;audience=x;audience=y;actor=true",
			want: "/api/orders=https://orders.internal/base;audience=x;audience=y;scope=a;scope=b;scope=c;actor=true"},
		{in: "/api/r=http://h;resource=https://r.example/api", want: "/api/r=http://h;resource=https://r.example/api"},
		{in: "/api/p=http://h:1;mode=passthrough", want: "/api/p=http://h:1;mode=passthrough"},
		{in: "/api/n=http://h;mode=none", want: "/api/n=http://h;mode=none"},
		{in: "/api/c=http://h;mode=client;audience=reports;scope=r", want: "/api/c=http://h;audience=reports;scope=r;mode=client"},
		{in: "/api/e=http://h;mode=exchange;actor=false", want: "/api/e=http://h;audience=e"},

		{in: "/api/orders", want: "want PREFIX=URL", fail: true},
		{in: "/orders=http://h", want: "not of the form /api/SERVICE", fail: true},
		{in: "/api/=http://h", want: "not of the form", fail: true},
		{in: "/api/a/b=http://h", want: "not of the form", fail: true},
		{in: "/api/a b=http://h", want: "only letters", fail: true},
		{in: "/api/..=http://h", want: "not allowed", fail: true},
		{in: "/api/o=127.0.0.1:9001", want: "does not parse", fail: true},
		{in: "/api/o=localhost:9001", want: "scheme must be http or https", fail: true},
		{in: "/api/o=ftp://h", want: "scheme must be http or https", fail: true},
		{in: "/api/o=http://", want: "has no host", fail: true},
		{in: "/api/o=http://u:secret@h", want: "credentials", fail: true},
		{in: "/api/o=http://h?key=secret", want: "no query", fail: true},
		{in: "/api/o=http://h/%zzsecret", want: "does not parse", fail: true},
		{in: "/api/o=http://h#f", want: "no query", fail: true},
		{in: "/api/o=http://h;audience", want: "want key=value", fail: true},
		{in: "/api/o=http://h;audience=", want: "want key=value", fail: true},
		{in: "/api/o=http://h;scope= ", want: "empty scope", fail: true},
		{in: "/api/o=http://h;color=red", want: "unknown key", fail: true},
		{in: "/api/o=http://h;mode=magic", want: "want exchange, passthrough, client or none", fail: true},
		{in: "/api/o=http://h;mode=none;mode=none", want: "mode given twice", fail: true},
		{in: "/api/o=http://h;actor=yes", want: "want true or false", fail: true},
		{in: "/api/o=http://h;actor=true;actor=true", want: "actor given twice", fail: true},
		{in: "/api/o=http://h;mode=client;actor=true", want: "actor needs mode exchange", fail: true},
		{in: "/api/o=http://h;mode=passthrough;audience=x", want: "takes no audience", fail: true},
		{in: "/api/o=http://h;resource=relative", want: "absolute URI", fail: true},
		{in: "/api/o=http://h;token=secret-value", want: "unknown key", fail: true},
	} {
		r, err := ParseRoute(tc.in)
		switch {
		case tc.fail && err == nil:
			t.Errorf("ParseRoute(%q) = %v, want an error with %q", tc.in, r, tc.want)
		case tc.fail && !strings.Contains(err.Error(), tc.want):
			t.Errorf("ParseRoute(%q): error %q, want %q in it", tc.in, err, tc.want)
		case tc.fail && strings.Contains(err.Error(), "\n"):
			t.Errorf("ParseRoute(%q): error of several lines: %q", tc.in, err)
		case tc.fail && strings.Contains(err.Error(), "secret"):
			t.Errorf("ParseRoute(%q): error %q repeats a secret", tc.in, err)
		case !tc.fail && err != nil:
			t.Errorf("ParseRoute(%q): %v", tc.in, err)
		case !tc.fail && r.String() != tc.want:
			t.Errorf("ParseRoute(%q) = %q, want %q", tc.in, r, tc.want)
		}
	}
}
