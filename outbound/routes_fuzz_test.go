package outbound

import (
	"errors"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync/atomic"
	"testing"
)

// FuzzMatch checks, for any request path: match does not panic; the fast
// path is sound (a path plainPath accepts selects, under every reading,
// the route it selects itself); and a path match accepts reaches the same
// route decoded twice, cleaned, without parameters, with "\" as "/",
// ignoring case, and under refReadings, which agree does not share.
func FuzzMatch(f *testing.F) {
	tbl, err := newTable([]Route{
		{URL: "https://h/", Mode: ModeNone},
		{URL: "https://h/api", Mode: ModeNone},
		{URL: "https://h/api/v4/admin", Mode: ModeNone},
		{URL: "https://h/files/", Mode: ModeNone},
		{URL: "https://h/b.c/d", Mode: ModeNone},
		{URL: "https://h/users", Mode: ModeNone},
		{URL: "https://h/kv", Mode: ModeNone},
	}, nil)
	if err != nil {
		f.Fatal(err)
	}
	prefixes := []string{"", "/api", "/api/v4/admin", "/files", "/b.c/d", "/users", "/kv"}
	rs := tbl[origin{scheme: "https", host: "h", port: "443"}]
	for _, s := range []string{
		"/", "//", "/api", "/api/", "/API", "/api/v4/admin/x", "/%2561pi/v4/admin", "/api/v4/%2e%2e/admin",
		"/api/..%2F..%2Ffiles", "/api;x/v4/admin", `/api\v4\admin`, "/files/report%2E2024.pdf", "/b.c/d/./e",
		"/api/v4%3F/admin", "/x/../api", "/api/v4/projects/g%2Fp", "/items;jsessionid=1", "*", "/a/.", "/a/..",
		"/b.c/d/..x", "/b.c/.d", "/u%C5%BFers/x", "/api/v4/adm%C4%B0n", "/%E2%84%AAv", "/users./x", "/users%20",
		"/us%09ers", "/x/.../users", "/files/v1.",
	} {
		f.Add(s)
	}
	// Compatibility forms of ".", "/", "\" and "%", raw and encoded.
	for _, s := range []string{
		"/users/%EF%BC%8E%EF%BC%8E/api", "/users/\uFF0E\uFF0E/api", "/users/..%EF%BC%8Fapi", "/users/..%EF%BC%BCapi",
		"/users/%E2%80%A4%E2%80%A4/kv", "/users/%EF%B9%92%EF%B9%92/kv", "/users/%E2%80%A5/kv", "/users/%E2%80%A6/kv",
		"/users/..%E2%88%95kv", "/users/..%E2%81%84kv", "/users/..%EF%B9%A8kv", "/users/..%E2%88%96kv",
		"/users/..%EF%BC%852Fkv", "/users/..%EF%B9%AA2fkv", "/users/..%C2%A5kv", "/%EF%BD%81pi/v4/admin",
		"/users/%25EF%25BC%258E%25EF%25BC%258E/kv", "/users/report%EF%BC%8Epdf", "/users/%E6%97%A5",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := url.Parse("https://h" + raw)
		if err != nil || u.Host != "h" {
			return
		}
		r, err := tbl.match(u)
		p := u.Path
		if p == "" {
			p = "/"
		}
		if u.Opaque != "" || p == "*" || p[0] != '/' {
			return
		}
		if lit, folded := pick(rs, p); lit == folded && plainPath(p, u.RawPath) {
			if !agree(rs, lit, p, u.EscapedPath()) {
				t.Fatalf("plain path %q (raw %q): a reading selects another route", p, u.RawPath)
			}
		}
		if err != nil {
			return
		}
		for _, s := range []string{
			path.Clean(unescapeLenient(p)),
			path.Clean(stripParams(strings.ReplaceAll(p, `\`, "/"))),
		} {
			if e, f := pick(rs, "/"+strings.TrimPrefix(s, "/")); e != r || f != r {
				t.Fatalf("%q (raw %q) was sent with route %v, but %q selects another", p, u.RawPath, r, s)
			}
		}
		if _, f := pick(rs, strings.ToUpper(p)); f != r {
			t.Fatalf("%q was sent with route %v, but ignoring case selects another", p, r)
		}
		want := refPick(prefixes, p)
		for name, s := range refReadings(p) {
			if got := refPick(prefixes, s); got != want {
				t.Fatalf("%q was sent (route %q), but %s (%q) selects route %q", p, want, name, s, got)
			}
		}
	})
}

// refReadings returns readings of the decoded path p by servers that take
// it for another, each built plainly here and independently of agree's
// normalizations: letters Java's equalsIgnoreCase folds onto ASCII ones,
// trailing dots and spaces stripped from each segment (Windows, IIS),
// tabs and newlines dropped (the WHATWG URL parser, after a proxy decoded
// them), all three at once, and each of those cleaned.
func refReadings(p string) map[string]string {
	unicodeFold := strings.NewReplacer("\u017F", "s", "\u212A", "k", "\u0130", "i", "\u0131", "i").Replace(p)
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if s != "." && s != ".." {
			segs[i] = strings.TrimRight(s, " .")
		}
	}
	trailing := strings.Join(segs, "/")
	noTabs := strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(p)
	all := strings.NewReplacer("\u017F", "s", "\u212A", "k", "\u0130", "i", "\u0131", "i", "\t", "", "\n", "", "\r", "").Replace(trailing)
	compat := refCompat(p)
	compatDecoded, err := url.PathUnescape(compat)
	if err != nil {
		compatDecoded = compat
	}
	readings := map[string]string{
		"Unicode case folding": unicodeFold, "trailing dots and spaces stripped": trailing, "tabs dropped": noTabs, "all three": all,
		"compatibility forms": compat, `compatibility forms, \ as /`: strings.ReplaceAll(compat, `\`, "/"),
		"compatibility forms, decoded": compatDecoded, `compatibility forms, decoded, \ as /`: strings.ReplaceAll(compatDecoded, `\`, "/"),
	}
	out := map[string]string{}
	for name, s := range readings {
		out[name] = s
		out[name+", cleaned"] = path.Clean("/" + s)
	}
	return out
}

// refCompat reads p as a server applying NFKC normalisation or Windows
// best-fit mapping does, for the characters that become ".", "/", "\" or
// "%" (nfkcToASCIISeparators, bestFit) and the full-width forms of ASCII.
func refCompat(p string) string {
	var b strings.Builder
	for _, r := range p {
		switch s, ok := nfkcToASCIISeparators[r]; {
		case ok:
			b.WriteString(s)
		case bestFit[r] != "":
			b.WriteString(bestFit[r])
		case r >= 0xFF01 && r <= 0xFF5E:
			b.WriteByte(byte(r - 0xFF01 + '!'))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// refPick is the route selection written plainly: the longest of prefixes
// that p, ignoring ASCII case only, is at or below ("" is every path's).
func refPick(prefixes []string, p string) string {
	lower := func(s string) string {
		b := []byte(s)
		for i, c := range b {
			if c >= 'A' && c <= 'Z' {
				b[i] = c + 32
			}
		}
		return string(b)
	}
	p = lower(p)
	best, found := "", false
	for _, pre := range prefixes {
		pre = lower(pre)
		if (pre == "" || p == pre || strings.HasPrefix(p, pre+"/")) && (!found || len(pre) > len(best)) {
			best, found = pre, true
		}
	}
	if !found {
		return "(none)"
	}
	return best
}

// TestIndependentReadings: for each path, whenever a reading built by
// refReadings selects another route than the path itself (by refPick),
// the transport refuses the request; and the paths no reading moves are
// sent with their route.
func TestIndependentReadings(t *testing.T) {
	routes := []string{"/", "/api", "/api/v4/admin", "/users", "/kv"}
	prefixes := []string{"", "/api", "/api/v4/admin", "/users", "/kv"}
	base := &countingBase{}
	var rs []Route
	for _, r := range routes {
		rs = append(rs, Route{URL: "https://h" + r, Mode: ModeNone})
	}
	tr, err := New(Options{Base: base, Routes: rs})
	if err != nil {
		t.Fatal(err)
	}
	// Refused by agree, which reads more than refReadings: ".. " may be
	// ".." to a server (dotsAsParent), and a tab dropped before trailing
	// dots are stripped leaves none ("users.\t" is "users").
	alsoRefused := map[string]bool{"/x/..%20/users": true, "/users/..%20": true, "/u%C5%BFers.%09/x": true}
	moved := 0
	for _, raw := range []string{
		"/u%C5%BFers/x", "/u\u017Fers/x", "/USER%C5%BF", "/api/v4/adm%C4%B0n/x", "/api/v4/adm%C4%B1n", "/%E2%84%AAv/1",
		"/api/v4/%E2%84%AA", "/%C4%B1sers", "/users/%C5%BF", "/caf%C3%A9", "/%C3%BCsers",
		"/users./x", "/users%20/x", "/users.%20", "/api/v4/admin.", "/api%20/v4/admin", "/api/v4./admin/x",
		"/users/x.", "/files/v1.", "/api/v1./x", "/x/..%20/users", "/users/..%20",
		"/us%09ers", "/api/v4/ad%0Amin", "/api/v4/admin%0D", "/users/a%09b", "/%09users",
		"/u%C5%BFers.%09/x", "/api", "/users/x", "/",
	} {
		u, err := url.Parse("https://h" + raw)
		if err != nil {
			t.Fatal(raw, err)
		}
		want := refPick(prefixes, u.Path)
		var differs []string
		for name, s := range refReadings(u.Path) {
			if refPick(prefixes, s) != want {
				differs = append(differs, name)
			}
		}
		req := &http.Request{Method: http.MethodGet, URL: u, Header: http.Header{}, Host: u.Host}
		before := base.n.Load()
		resp, err := tr.RoundTrip(req)
		if resp != nil {
			_ = resp.Body.Close()
		}
		if len(differs) > 0 {
			moved++
			if !errors.Is(err, ErrAmbiguousPath) || base.n.Load() != before {
				t.Errorf("%s: sent (err %v), but %v select(s) another route than %q", raw, err, differs, want)
			}
			continue
		}
		if err != nil && !alsoRefused[raw] {
			t.Errorf("%s: %v; no reading selects another route than %q", raw, err, want)
		}
	}
	if moved < 15 {
		t.Errorf("only %d paths have a reading that selects another route: the table tests little", moved)
	}
}

// TestMatchAllocs: matching a path that needs no other reading, on an
// origin with path-prefix routes, does not allocate.
func TestMatchAllocs(t *testing.T) {
	tbl := benchTable(t)
	for _, raw := range []string{"https://h/api/v4/projects/42/issues", "https://H/files/report.pdf", "https://h/other/x/", "https://h/api/x%20y"} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(100, func() { _, _ = tbl.match(u) }); n != 0 {
			t.Errorf("%s: %v allocations", raw, n)
		}
	}
}

func benchTable(tb testing.TB) table {
	tbl, err := newTable([]Route{
		{URL: "https://h/", Mode: ModeNone},
		{URL: "https://h/api", Mode: ModeNone},
		{URL: "https://h/api/v4/admin", Mode: ModeNone},
		{URL: "https://h/files/", Mode: ModeNone},
	}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return tbl
}

// BenchmarkMatch: the fast path (a plain path) and the readings of an
// escaped one, on an origin with path-prefix routes.
func BenchmarkMatch(b *testing.B) {
	tbl := benchTable(b)
	for _, c := range []struct{ name, url string }{
		{"plain", "https://h/api/v4/projects/42/issues"},
		{"escaped", "https://h/api/v4/projects/group%2Fproject/issues"},
	} {
		u, err := url.Parse(c.url)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tbl.match(u); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// countingBase answers every request 200 and counts them.
type countingBase struct{ n atomic.Int64 }

func (c *countingBase) RoundTrip(req *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Header: http.Header{}, Request: req}, nil
}
