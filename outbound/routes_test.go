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
		"https://orders.internal":           "orders-root",
		"https://orders.internal/api":       "orders-api",
		"https://orders.internal/api/v2":    "orders-api-v2",
		"https://orders.internal:8443":      "orders-8443",
		"http://orders.internal":            "orders-http",
		"http://billing.internal:8080/pay/": "billing-pay",
		"https://[2001:db8::1]/v6":          "ipv6",
		"https://Users.Internal/":           "users",
		"https://ingress.internal/orders":   "ingress-orders",
		"https://ingress.internal/billing":  "ingress-billing",
		"https://plain.internal":            "plain",
		"https://key.internal":              "key",
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
		{"https://ingress.internal/billing/./x", ambiguous},
		{"https://ingress.internal/billing//x", ambiguous},
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
	for _, u := range []string{"https://orders.internal/apix", "https://public.example/", "http://orders.internal/api"} {
		assert.Equal(t, http.StatusOK, mustGet(t, tr, "", u))
	}
	assert.Equal(t, http.StatusOK, mustGet(t, tr, "", "https://orders.internal/api/1"))
	assert.Equal(t, []string{"", "", "", "Bearer orders-1"}, base.authorizations())
}
