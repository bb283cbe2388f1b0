package outbound

import (
	"net/url"
	"path"
	"strings"
	"testing"
)

// FuzzMatch checks, for any request path: match does not panic; the fast
// path is sound (a path plainPath accepts selects, under every reading,
// the route it selects itself); and a path match accepts reaches the same
// route decoded twice, cleaned, without parameters, with "\" as "/" and
// ignoring case.
func FuzzMatch(f *testing.F) {
	tbl, err := newTable([]Route{
		{URL: "https://h/", Mode: ModeNone},
		{URL: "https://h/api", Mode: ModeNone},
		{URL: "https://h/api/v4/admin", Mode: ModeNone},
		{URL: "https://h/files/", Mode: ModeNone},
		{URL: "https://h/b.c/d", Mode: ModeNone},
	}, nil)
	if err != nil {
		f.Fatal(err)
	}
	rs := tbl[origin{scheme: "https", host: "h", port: "443"}]
	for _, s := range []string{
		"/", "//", "/api", "/api/", "/API", "/api/v4/admin/x", "/%2561pi/v4/admin", "/api/v4/%2e%2e/admin",
		"/api/..%2F..%2Ffiles", "/api;x/v4/admin", `/api\v4\admin`, "/files/report%2E2024.pdf", "/b.c/d/./e",
		"/api/v4%3F/admin", "/x/../api", "/api/v4/projects/g%2Fp", "/items;jsessionid=1", "*", "/a/.", "/a/..",
		"/b.c/d/..x", "/b.c/.d",
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
	})
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
