package outbound_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/outbound"
)

// ambiguous in TestMatching's table: refused with ErrAmbiguousPath.
const ambiguous = "!ambiguous"

// TestMatching checks which route a URL takes by the token each route's
// source hands out ("" means the request was refused as unrouted).
func TestMatching(t *testing.T) {
	routes := map[string]string{ // route URL -> token source name
		"https://orders.internal":              "orders-root",
		"https://orders.internal/api":          "orders-api",
		"https://orders.internal/api/v2":       "orders-api-v2",
		"https://orders.internal:8443":         "orders-8443",
		"http://orders.internal":               "orders-http",
		"http://billing.internal:8080/pay/":    "billing-pay",
		"https://[2001:db8::1]/v6":             "ipv6",
		"https://Users.Internal/":              "users",
		"https://ingress.internal/orders":      "ingress-orders",
		"https://ingress.internal/billing":     "ingress-billing",
		"https://plain.internal":               "plain",
		"https://key.internal":                 "key",
		"https://gitlab.internal":              "gitlab-root",
		"https://gitlab.internal/api/v4":       "gitlab-api",
		"https://gitlab.internal/api/v4/admin": "gitlab-admin",
		"https://files.internal/files":         "files",
		"https://java.internal/":               "java-root",
		"https://java.internal/api":            "java-api",
		"https://java.internal/api/v4/admin":   "java-admin",
		"https://java.internal/users":          "java-users",
		"https://java.internal/kv":             "java-kv",
	}
	base := &fakeBase{}
	opts := outbound.Options{Base: base}
	for u, name := range routes {
		opts.Routes = append(opts.Routes, outbound.Route{URL: u, Mode: outbound.ModeOwnToken, Tokens: &staticTokens{name: name}})
	}
	tr := newTransport(t, opts)

	tests := []struct {
		url  string
		want string
	}{
		{"https://orders.internal", "orders-root"},
		{"https://orders.internal/", "orders-root"},
		{"https://orders.internal/other", "orders-root"},
		{"https://orders.internal/apix", "orders-root"},
		{"https://orders.internal/api", "orders-api"},
		{"https://orders.internal/api/", "orders-api"},
		{"https://orders.internal/api/orders/42", "orders-api"},
		{"https://orders.internal/api/v2", "orders-api-v2"},
		{"https://orders.internal/api/v2/x", "orders-api-v2"},
		{"https://orders.internal/api/v20", "orders-api"},
		{"https://orders.internal/api/v2/../v1", ambiguous},
		{"https://orders.internal/api/../admin", ambiguous},
		{"https://orders.internal:443/api", "orders-api"},
		{"https://ORDERS.Internal/api", "orders-api"},
		{"HTTPS://orders.internal/api", "orders-api"},
		{"https://orders.internal:8443/api", "orders-8443"},
		{"https://orders.internal:8444/api", ""},
		{"http://orders.internal/api", "orders-http"},
		{"http://orders.internal:80/api", "orders-http"},
		{"http://orders.internal:443/api", ""},
		{"https://orders.internal:80/", ""},
		{"http://billing.internal:8080/pay", "billing-pay"},
		{"http://billing.internal:8080/pay/1", "billing-pay"},
		{"http://billing.internal:8080/payments", ""},
		{"http://billing.internal:8080/", ""},
		{"http://billing.internal/pay", ""},
		{"https://[2001:db8::1]/v6/x", "ipv6"},
		{"https://[2001:db8::1]:443/v6", "ipv6"},
		{"https://[2001:db8::1]/v4", ""},
		{"https://users.internal/me", "users"},
		{"https://orders.internal.evil.example/api", ""},
		{"https://evil.example/orders.internal", ""},
		{"https://orders.internal.:443/api", ""},
		{"https://127.0.0.1/api", ""},
		// A name the dialer would look up in punycode.
		{"https://\u212aey.internal/", ""},
		{"https://key.internal/", "key"},
		// Paths a server or proxy may read as under another prefix.
		{"https://ingress.internal/billing/..%2Forders/x", ambiguous},
		{"https://ingress.internal/billing%2F..%2F..%2Forders", ambiguous},
		{"https://ingress.internal/billing/%2e%2e/orders/x", ambiguous},
		{"https://ingress.internal/billing/%2E%2E/orders/x", ambiguous},
		{"https://ingress.internal/billing/%2e./orders/x", ambiguous},
		{"https://ingress.internal/orders%2fx", ambiguous},
		{"https://ingress.internal/billing%5C..%5Corders", ambiguous},
		{"https://ingress.internal/billing%5c..%5corders", ambiguous},
		{`https://ingress.internal/billing\..\orders`, ambiguous},
		{"https://ingress.internal/billing/../orders/x", ambiguous},
		{"https://ingress.internal/billing/../billing/x", "ingress-billing"},
		{"https://ingress.internal//orders/x", ambiguous},
		{"https://ingress.internal/x/..//orders", ambiguous},
		{"https://ingress.internal/orders/%2e%2e/billing", ambiguous},
		{"https://ingress.internal/orders/.%2E/billing", ambiguous},
		{"https://ingress.internal/billing/..;/orders/x", ambiguous},
		{"https://ingress.internal/billing;v=1/x", ambiguous},
		{"https://ingress.internal/billing%3B/x", ambiguous},
		{"https://ingress.internal/Orders/x", ambiguous},
		{"https://ingress.internal/ORDERS", ambiguous},
		{"https://ingress.internal/other/..%2Forders", ambiguous},
		{"https://ingress.internal/orders", "ingress-orders"},
		{"https://ingress.internal/orders/", "ingress-orders"},
		{"https://ingress.internal/orders/a%20b/c%3Fd", "ingress-orders"},
		{"https://ingress.internal/orders/50%25", "ingress-orders"},
		{"https://ingress.internal/billing/x", "ingress-billing"},
		{"https://ingress.internal/other", ""},
		{"https://ingress.internal/", ""},
		// Readings that agree: sent.
		{"https://ingress.internal/billing/./x", "ingress-billing"},
		{"https://ingress.internal/billing//x", "ingress-billing"},
		{"https://ingress.internal/billing/x;v=1", "ingress-billing"},
		{"https://ingress.internal/other/./x", ""},
		{"https://ingress.internal/other%2Fx", ""},
		{"https://ingress.internal/other;a=b", ""},
		{"https://orders.internal//", "orders-root"},
		{"https://orders.internal/api//x", "orders-api"},
		{"https://orders.internal/api/x/..", "orders-api"},
		{"https://orders.internal/items;jsessionid=0123ABCD", "orders-root"},
		{"https://orders.internal/api/orders/42;jsessionid=0123ABCD", "orders-api"},
		{"https://orders.internal/api/50%2525", "orders-api"},
		{"https://gitlab.internal/api/v4/projects/group%2Fproject", "gitlab-api"},
		{"https://gitlab.internal/api/v4/projects/group%2Fsub%2Fproject/issues", "gitlab-api"},
		{"https://gitlab.internal/api/v4/projects/a%5Cb", "gitlab-api"},
		{"https://gitlab.internal/api/v4/admin/users", "gitlab-admin"},
		{"https://files.internal/files/report%2E2024.pdf", "files"},
		{"https://files.internal/files/report%2e2024.pdf", "files"},
		{"https://files.internal/files/a%20b%3Fc", "files"},
		// Readings that do not: refused.
		{"https://gitlab.internal/%2561pi/v4/admin", ambiguous},
		{"https://gitlab.internal/api/v4/%2561dmin", ambiguous},
		{"https://gitlab.internal/api/v4/%252e%252e/admin", ambiguous},
		{"https://gitlab.internal/%61pi/v4/x", ambiguous},
		{"https://gitlab.internal/api/v4%3F/admin", ambiguous},
		{"https://gitlab.internal/api;x/v4/admin", ambiguous},
		{"https://gitlab.internal/api/v4\\admin", ambiguous},
		{"https://gitlab.internal/API/v4/x", ambiguous},
		{"https://gitlab.internal/api/V4/admin", ambiguous},
		{"https://orders.internal/Api", ambiguous},
		{"https://files.internal/files/..%2F..%2Fetc", ambiguous},
		{"https://files.internal/Files/x", ambiguous},
		{"https://files.internal/x/../files/y", ambiguous},
		// Letters outside ASCII that Java's equalsIgnoreCase (Spring's
		// case-insensitive matching) folds onto ASCII ones: refused when
		// the folded path selects another route.
		{"https://java.internal/u%C5%BFers/x", ambiguous},        // ſ: /users/x
		{"https://java.internal/u\u017Fers/x", ambiguous},        // the same, unescaped
		{"https://java.internal/%E2%84%AAv/x", ambiguous},        // K (Kelvin): /kv/x
		{"https://java.internal/api/v4/adm%C4%B0n/x", ambiguous}, // İ: /api/v4/admin/x
		{"https://java.internal/api/v4/adm%C4%B1n", ambiguous},   // ı
		{"https://java.internal/%C4%B0%C5%BFers/x", "java-root"}, // "isers": no route but /
		{"https://java.internal/users/%C5%BF%E2%84%AA", "java-users"},
		{"https://java.internal/api/caf%C3%A9", "java-api"},
		{"https://java.internal/%C3%BCsers", "java-root"}, // ü is no u
		// Trailing dots and spaces, which Windows (IIS) strips from each
		// segment.
		{"https://java.internal/users./x", ambiguous},
		{"https://java.internal/users%20/x", ambiguous},
		{"https://java.internal/users.%20.", ambiguous},
		{"https://java.internal/api/v4/admin%2E", ambiguous},
		{"https://java.internal/x/...%2Fusers", ambiguous}, // "..." may be ".."
		{"https://java.internal/x/..%20/users", ambiguous},
		{"https://java.internal/users/report.", "java-users"},
		{"https://java.internal/api/v1./x", "java-api"},
		{"https://java.internal/files/v1.", "java-root"},
		{"https://java.internal/users%20x", "java-root"},
		// Tabs and newlines, which the WHATWG URL parser drops.
		{"https://java.internal/us%09ers/x", ambiguous},
		{"https://java.internal/api/v4/ad%0Amin", ambiguous},
		{"https://java.internal/users/a%09b", "java-users"},
		// An origin whose only route has no prefix: nothing to confuse.
		{"https://plain.internal/billing/..%2Forders/x", "plain"},
		{"https://plain.internal/a/../b", "plain"},
		{"https://plain.internal/a;b", "plain"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, tt.url, nil)
			require.NoError(t, err)
			before := base.count()
			resp, err := tr.RoundTrip(req)
			if tt.want == ambiguous {
				require.ErrorIs(t, err, outbound.ErrAmbiguousPath)
				require.ErrorIs(t, err, outbound.ErrNoRoute)
				assert.Nil(t, resp)
				assert.Equal(t, before, base.count(), "an ambiguous request is not sent")
				status, _ := outbound.StatusFor(err)
				assert.Equal(t, http.StatusBadRequest, status)
				assert.NotContains(t, err.Error(), req.URL.Path)
				return
			}
			if tt.want == "" {
				require.ErrorIs(t, err, outbound.ErrNoRoute)
				assert.Nil(t, resp)
				assert.Equal(t, before, base.count(), "an unrouted request is not sent")
				return
			}
			require.NoError(t, err)
			_ = resp.Body.Close()
			auth := base.authorizations()
			assert.Equal(t, "Bearer "+tt.want+"-1", auth[len(auth)-1])
		})
	}
}

// TestMatchingAllowUnrouted: with AllowUnrouted an unmatched request is
// sent as it is, with no token.
func TestMatchingAllowUnrouted(t *testing.T) {
	base := &fakeBase{}
	tr := newTransport(t, outbound.Options{
		Base:          base,
		AllowUnrouted: true,
		Routes:        []outbound.Route{{URL: "https://orders.internal/api", Mode: outbound.ModeOwnToken, Tokens: &staticTokens{name: "orders"}}},
	})
	for _, u := range []string{
		"https://orders.internal/apix", "https://public.example/", "http://orders.internal/api",
		// Paths that reach no route under any reading are sent too.
		"https://orders.internal/apix/./x", "https://orders.internal/other%2Fx", "https://orders.internal/x;a=b", "https://orders.internal//x",
	} {
		assert.Equal(t, http.StatusOK, mustGet(t, tr, "", u), u)
	}
	assert.Equal(t, http.StatusOK, mustGet(t, tr, "", "https://orders.internal/api/1"))
	assert.Equal(t, []string{"", "", "", "", "", "", "", "Bearer orders-1"}, base.authorizations())

	// A path that reaches the route under one reading and no route under
	// the literal one is refused, AllowUnrouted or not.
	for _, u := range []string{
		"https://orders.internal/x/../api/1", "https://orders.internal/%61pi/1", "https://orders.internal/API/1",
		"https://orders.internal//api/1", "https://orders.internal/api;a/1", "https://orders.internal/%2561pi/1",
	} {
		_, err := get(t, tr, "", u)
		require.ErrorIs(t, err, outbound.ErrAmbiguousPath, u)
	}
	assert.Len(t, base.authorizations(), 8, "nothing more was sent")
}

// TestDoubleEncoding: "/%2561pi/v4/admin" is "/%61pi/v4/admin" here, which
// takes the token route "/", but "/api/v4/admin" to a server (or a proxy
// in front of it) that decodes twice, where the route table says no token
// goes. It is refused; the path written plainly goes without a token.
func TestDoubleEncoding(t *testing.T) {
	base := &fakeBase{}
	tr := newTransport(t, outbound.Options{Base: base, Routes: []outbound.Route{
		{URL: "https://git.internal/", Mode: outbound.ModeOwnToken, Tokens: &staticTokens{name: "git"}},
		{URL: "https://git.internal/api/v4/admin", Mode: outbound.ModeNone},
	}})
	for _, u := range []string{
		"https://git.internal/%2561pi/v4/admin",
		"https://git.internal/api/v4/%2561dmin/users",
		"https://git.internal/api/v4/adm%2569n",
		"https://git.internal/api%252Fv4%252Fadmin",
		"https://git.internal/api/v4/x/%252E%252E/admin",
	} {
		_, err := get(t, tr, "", u)
		require.ErrorIs(t, err, outbound.ErrAmbiguousPath, u)
	}
	assert.Zero(t, base.count())
	assert.Equal(t, http.StatusOK, mustGet(t, tr, "", "https://git.internal/api/v4/admin/users"))
	assert.Equal(t, http.StatusOK, mustGet(t, tr, "", "https://git.internal/api/v4/projects/g%2Fp"))
	assert.Equal(t, []string{"", "Bearer git-1"}, base.authorizations())
}

// TestOptionsStar: "OPTIONS *" (Path or Opaque "*") names the server as a
// whole: it takes the origin's route without a path prefix, if any.
func TestOptionsStar(t *testing.T) {
	base := &fakeBase{}
	tr := newTransport(t, outbound.Options{Base: base, Routes: []outbound.Route{
		{URL: "https://orders.internal", Mode: outbound.ModeOwnToken, Tokens: &staticTokens{name: "orders"}},
		{URL: "https://orders.internal/api", Mode: outbound.ModeOwnToken, Tokens: &staticTokens{name: "api"}},
		{URL: "https://ingress.internal/orders", Mode: outbound.ModeOwnToken, Tokens: &staticTokens{name: "ingress"}},
	}})
	star := func(host string, opaque bool) *http.Request {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodOptions, "https://"+host, nil)
		require.NoError(t, err)
		if opaque {
			req.URL.Opaque = "*"
		} else {
			req.URL.Path = "*"
		}
		return req
	}
	for _, opaque := range []bool{false, true} {
		resp, err := tr.RoundTrip(star("orders.internal", opaque))
		require.NoError(t, err)
		_ = resp.Body.Close()
		_, err = tr.RoundTrip(star("ingress.internal", opaque))
		require.ErrorIs(t, err, outbound.ErrNoRoute)
		require.NotErrorIs(t, err, outbound.ErrAmbiguousPath)
	}
	assert.Equal(t, []string{"Bearer orders-1", "Bearer orders-1"}, base.authorizations())
}
