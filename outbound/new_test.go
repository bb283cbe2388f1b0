package outbound_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/outbound"
)

func TestNewRejectsBadRoutes(t *testing.T) {
	e := newEnv(t)
	src := &staticTokens{name: "own"}
	orders := exchange.Target{Audiences: []string{"orders"}}
	tests := []struct {
		name  string
		route outbound.Route
		noX   bool // leave Options.Exchanger nil
		want  string
	}{
		{"empty URL", outbound.Route{Mode: outbound.ModeNone}, false, "URL is required"},
		{"no scheme", outbound.Route{URL: "orders.internal/api", Mode: outbound.ModeNone}, false, "scheme"},
		{"ftp", outbound.Route{URL: "ftp://orders.internal", Mode: outbound.ModeNone}, false, "scheme"},
		{"no host", outbound.Route{URL: "https:///api", Mode: outbound.ModeNone}, false, "no host"},
		{"user info", outbound.Route{URL: "https://u:p@orders.internal", Mode: outbound.ModeNone}, false, "user info"},
		{"query", outbound.Route{URL: "https://orders.internal/api?x=1", Mode: outbound.ModeNone}, false, "query"},
		{"fragment", outbound.Route{URL: "https://orders.internal/api#x", Mode: outbound.ModeNone}, false, "fragment"},
		{"wildcard", outbound.Route{URL: "https://*.internal", Mode: outbound.ModeNone}, false, ""},
		{"bad port", outbound.Route{URL: "https://orders.internal:https", Mode: outbound.ModeNone}, false, ""},
		{"unclean path", outbound.Route{URL: "https://orders.internal/a/../b", Mode: outbound.ModeNone}, false, "not clean"},
		{"double slash", outbound.Route{URL: "https://orders.internal//api", Mode: outbound.ModeNone}, false, "not clean"},
		{"escaped slash in path", outbound.Route{URL: "https://orders.internal/a%2Fb", Mode: outbound.ModeNone}, false, "escaped"},
		{"escaped dot in path", outbound.Route{URL: "https://orders.internal/a%2e", Mode: outbound.ModeNone}, false, "escaped"},
		{"path parameter", outbound.Route{URL: "https://orders.internal/a;b", Mode: outbound.ModeNone}, false, ";"},
		{"escaped letter in path", outbound.Route{URL: "https://orders.internal/%61pi", Mode: outbound.ModeNone}, false, "escaped"},
		{"space in path", outbound.Route{URL: "https://orders.internal/a%20b", Mode: outbound.ModeNone}, false, "escaped"},
		{"backslash in path", outbound.Route{URL: `https://orders.internal/a\b`, Mode: outbound.ModeNone}, false, "escaped"},
		{"percent in path", outbound.Route{URL: "https://orders.internal/a%25b", Mode: outbound.ModeNone}, false, "escaped"},
		{"non-ASCII host", outbound.Route{URL: "https://\u212aey.internal", Mode: outbound.ModeNone}, false, "ASCII"},
		{"no mode", outbound.Route{URL: "https://orders.internal"}, false, "Mode is required"},
		{"unknown mode", outbound.Route{URL: "https://orders.internal", Mode: 42}, false, "unknown Mode(42)"},
		{"exchange without exchanger", outbound.Route{URL: "https://orders.internal", Mode: outbound.ModeExchange, Target: orders}, true, "without an Exchanger"},
		{"exchange without audience", outbound.Route{URL: "https://orders.internal", Mode: outbound.ModeExchange, Target: exchange.Target{Scopes: []string{"read"}}}, false, "no audience or resource"},
		{"exchange with bad resource", outbound.Route{URL: "https://orders.internal", Mode: outbound.ModeExchange, Target: exchange.Target{Resources: []string{"orders"}}}, false, "absolute URI"},
		{"exchange with Tokens", outbound.Route{URL: "https://orders.internal", Mode: outbound.ModeExchange, Target: orders, Tokens: src}, false, "Tokens is for own-token"},
		{"own token without Tokens", outbound.Route{URL: "https://orders.internal", Mode: outbound.ModeOwnToken}, false, "without Tokens"},
		{"own token with Target", outbound.Route{URL: "https://orders.internal", Mode: outbound.ModeOwnToken, Tokens: src, Target: orders}, false, "exchange routes only"},
		{"pass-through with Exchanger", outbound.Route{URL: "https://orders.internal", Mode: outbound.ModePassThrough, Exchanger: e.x}, false, "exchange routes only"},
		{"none with Tokens", outbound.Route{URL: "https://orders.internal", Mode: outbound.ModeNone, Tokens: src}, false, "own-token routes only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := outbound.Options{Routes: []outbound.Route{tt.route}, Exchanger: e.x}
			if tt.noX {
				opts.Exchanger = nil
			}
			tr, err := outbound.New(opts)
			require.Error(t, err)
			assert.Nil(t, tr)
			assert.True(t, strings.HasPrefix(err.Error(), "outbound: Routes[0]"), err.Error())
			assert.Contains(t, err.Error(), tt.want)
		})
	}

	t.Run("duplicate destination", func(t *testing.T) {
		_, err := outbound.New(outbound.Options{Routes: []outbound.Route{
			{URL: "https://orders.internal/api", Mode: outbound.ModeNone},
			{URL: "https://ORDERS.internal:443/api/", Mode: outbound.ModePassThrough},
		}})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "Routes[1]")
		assert.Contains(t, err.Error(), "same destination")
	})
	t.Run("prefixes differing in case only", func(t *testing.T) {
		_, err := outbound.New(outbound.Options{Routes: []outbound.Route{
			{URL: "https://orders.internal/api", Mode: outbound.ModeNone},
			{URL: "https://orders.internal/API", Mode: outbound.ModePassThrough},
		}})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "Routes[1]")
		assert.Contains(t, err.Error(), "ignores case")
	})
	t.Run("route exchanger is enough", func(t *testing.T) {
		_, err := outbound.New(outbound.Options{Routes: []outbound.Route{
			{URL: "https://orders.internal", Mode: outbound.ModeExchange, Target: orders, Exchanger: e.x},
		}})
		require.NoError(t, err)
	})
}

func TestZeroTransportFailsClosed(t *testing.T) {
	for name, tr := range map[string]*outbound.Transport{
		"zero value":   {},
		"zero options": newTransport(t, outbound.Options{}),
	} {
		t.Run(name, func(t *testing.T) {
			body := &closeTracker{Reader: strings.NewReader("payload")}
			req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, "http://127.0.0.1:1/x", body)
			require.NoError(t, err)
			resp, err := tr.RoundTrip(req)
			require.Nil(t, resp)
			require.ErrorIs(t, err, outbound.ErrNoRoute)
			var re *outbound.RouteError
			require.True(t, errors.As(err, &re))
			assert.Equal(t, "http://127.0.0.1:1", re.Origin)
			assert.True(t, body.closed.Load(), "the body of a refused request is closed")
		})
	}
}

func TestModeString(t *testing.T) {
	assert.Equal(t, "exchange", outbound.ModeExchange.String())
	assert.Equal(t, "own-token", outbound.ModeOwnToken.String())
	assert.Equal(t, "pass-through", outbound.ModePassThrough.String())
	assert.Equal(t, "none", outbound.ModeNone.String())
	assert.Equal(t, "Mode(0)", outbound.Mode(0).String())
}

// TestNewPlaintextProxy: a base transport that would send an http:// route's
// requests (and so its token, in clear text) to a forward proxy, a host the
// route table does not name, fails New unless AllowPlaintextProxy says so.
func TestNewPlaintextProxy(t *testing.T) {
	proxyURL, err := url.Parse("http://user:proxy-secret@proxy.example:3128")
	require.NoError(t, err)
	viaProxy := &http.Transport{Proxy: http.ProxyURL(proxyURL)}
	own := func(u string) outbound.Route {
		return outbound.Route{URL: u, Mode: outbound.ModeOwnToken, Tokens: &staticTokens{name: "own"}}
	}
	tests := []struct {
		name   string
		base   http.RoundTripper
		routes []outbound.Route
		allow  bool
		want   string // "" for success
	}{
		{"http route via proxy", viaProxy, []outbound.Route{own("https://a.internal"), own("http://orders.internal:8080/api")}, false, `Routes[1] ("http://orders.internal:8080/api")`},
		{"http pass-through route via proxy", viaProxy, []outbound.Route{{URL: "http://orders.internal", Mode: outbound.ModePassThrough}}, false, "proxy.example:3128"},
		{"allowed", viaProxy, []outbound.Route{own("http://orders.internal")}, true, ""},
		{"https route via proxy", viaProxy, []outbound.Route{own("https://orders.internal")}, false, ""},
		{"http route without a token", viaProxy, []outbound.Route{{URL: "http://public.internal", Mode: outbound.ModeNone}}, false, ""},
		{"Proxy nil", &http.Transport{}, []outbound.Route{own("http://orders.internal")}, false, ""},
		{"Proxy returns nil", &http.Transport{Proxy: func(*http.Request) (*url.URL, error) { return nil, nil }}, []outbound.Route{own("http://orders.internal")}, false, ""},
		{"Proxy for another host only", &http.Transport{Proxy: func(r *http.Request) (*url.URL, error) {
			if r.URL.Hostname() == "billing.internal" {
				return proxyURL, nil
			}
			return nil, nil
		}}, []outbound.Route{own("http://orders.internal"), own("http://BILLING.internal/x")}, false, `Routes[1] ("http://BILLING.internal/x")`},
		{"Proxy fails", &http.Transport{Proxy: func(*http.Request) (*url.URL, error) { return nil, errors.New("bad proxy config") }}, []outbound.Route{own("http://orders.internal")}, false, "bad proxy config"},
		{"not an *http.Transport", &fakeBase{}, []outbound.Route{own("http://orders.internal")}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := outbound.New(outbound.Options{Base: tt.base, Routes: tt.routes, AllowPlaintextProxy: tt.allow})
			if tt.want == "" {
				require.NoError(t, err)
				require.NotNil(t, tr)
				return
			}
			require.Error(t, err)
			assert.Nil(t, tr)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "proxy-secret")
			if !strings.Contains(tt.want, "bad proxy") {
				for _, fix := range []string{"https", "Proxy is nil", "AllowPlaintextProxy"} {
					assert.Contains(t, err.Error(), fix)
				}
			}
		})
	}
}

// TestNewPlaintextProxyRequest: the check calls Proxy with the route's URL.
func TestNewPlaintextProxyRequest(t *testing.T) {
	var seen []string
	base := &http.Transport{Proxy: func(r *http.Request) (*url.URL, error) {
		seen = append(seen, r.URL.String())
		return nil, nil
	}}
	_, err := outbound.New(outbound.Options{Base: base, Routes: []outbound.Route{
		{URL: "http://orders.internal:8080/api", Mode: outbound.ModeOwnToken, Tokens: &staticTokens{name: "own"}},
		{URL: "https://secure.internal", Mode: outbound.ModeOwnToken, Tokens: &staticTokens{name: "own"}},
	}})
	require.NoError(t, err)
	assert.Equal(t, []string{"http://orders.internal:8080/api"}, seen)
}
