package outbound_test

import (
	"context"
	"errors"
	"net/http"
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
