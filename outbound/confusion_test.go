package outbound_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/outbound"
)

// TestOpaqueURL: an opaque URL is sent as its own request-target ("//host/x"
// even in absolute form, naming another host), so a routed origin refuses
// it, with or without path prefixes.
func TestOpaqueURL(t *testing.T) {
	base := &fakeBase{}
	tr := newTransport(t, outbound.Options{Base: base, AllowUnrouted: true, Routes: []outbound.Route{
		{URL: "https://plain.internal", Mode: outbound.ModeOwnToken, Tokens: &staticTokens{name: "plain"}},
		{URL: "https://ingress.internal/orders", Mode: outbound.ModeOwnToken, Tokens: &staticTokens{name: "orders"}},
	}})
	for _, u := range []*url.URL{
		{Scheme: "https", Host: "plain.internal", Opaque: "//evil.example/x"},
		{Scheme: "https", Host: "ingress.internal", Opaque: "/orders/../billing"},
		{Scheme: "https", Host: "ingress.internal", Opaque: "/orders/x", Path: "/orders/x"},
	} {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, "https://placeholder/", nil)
		require.NoError(t, err)
		req.URL, req.Host = u, u.Host
		resp, err := tr.RoundTrip(req)
		require.ErrorIs(t, err, outbound.ErrAmbiguousPath, u.Opaque)
		assert.Nil(t, resp)
	}
	assert.Zero(t, base.count())
}

// TestHostHeader: a routed request whose Host header names another host or
// port than its URL is refused: an ingress routing on Host would hand the
// token to whatever service that Host names.
func TestHostHeader(t *testing.T) {
	base := &fakeBase{}
	tr := newTransport(t, outbound.Options{Base: base, AllowUnrouted: true, Routes: []outbound.Route{
		{URL: "https://ingress.internal/orders", Mode: outbound.ModeOwnToken, Tokens: &staticTokens{name: "orders"}},
		{URL: "http://[2001:db8::1]:8080", Mode: outbound.ModeNone},
	}})
	tests := []struct {
		url, host string
		ok        bool
	}{
		{"https://ingress.internal/orders/x", "", true},
		{"https://ingress.internal/orders/x", "ingress.internal", true},
		{"https://ingress.internal/orders/x", "INGRESS.Internal", true},
		{"https://ingress.internal/orders/x", "ingress.internal:443", true},
		{"https://ingress.internal:443/orders/x", "ingress.internal", true},
		{"https://ingress.internal/orders/x", "evil.example", false},
		{"https://ingress.internal/orders/x", "ingress.internal:8443", false},
		{"https://ingress.internal/orders/x", "ingress.internal:80", false},
		{"https://ingress.internal/orders/x", "ingress.internal.", false},
		{"https://ingress.internal/orders/x", "billing.ingress.internal", false},
		{"https://ingress.internal/orders/x", "\u212angress.internal", false}, // not "k": no non-ASCII folding
		{"http://[2001:db8::1]:8080/x", "[2001:DB8::1]:8080", true},
		{"http://[2001:db8::1]:8080/x", "[2001:db8::1]", false},
		{"http://[2001:db8::1]:8080/x", "[2001:db8::2]:8080", false},
		{"https://public.example/x", "evil.example", true}, // unrouted: no token, nothing to protect
	}
	for _, tt := range tests {
		t.Run(tt.url+" Host:"+tt.host, func(t *testing.T) {
			req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, tt.url, nil)
			require.NoError(t, err)
			req.Host = tt.host
			before := base.count()
			resp, err := tr.RoundTrip(req)
			if tt.ok {
				require.NoError(t, err)
				_ = resp.Body.Close()
				assert.Equal(t, before+1, base.count())
				return
			}
			require.ErrorIs(t, err, outbound.ErrHostMismatch)
			require.ErrorIs(t, err, outbound.ErrNoRoute)
			assert.Nil(t, resp)
			assert.Equal(t, before, base.count(), "not sent")
			status, _ := outbound.StatusFor(err)
			assert.Equal(t, http.StatusBadGateway, status)
		})
	}
}

// TestReverseProxyHost: a Director-based ReverseProxy
// (NewSingleHostReverseProxy) keeps the caller's Host header and is
// refused; the Rewrite + SetURL proxy clears it and works.
func TestReverseProxyHost(t *testing.T) {
	e := newEnv(t)
	alice := e.a.UserToken("alice", "web")
	tr := newTransport(t, outbound.Options{Exchanger: e.x, Routes: []outbound.Route{
		{URL: e.orders.URL + "/orders", Mode: outbound.ModeExchange, Target: exchange.Target{Audiences: []string{"orders"}}},
	}})
	target, err := url.Parse(e.orders.URL)
	require.NoError(t, err)
	gateway := func(p *httputil.ReverseProxy) *httptest.Server {
		p.Transport = tr
		p.ErrorHandler = outbound.ErrorHandler(nil)
		s := httptest.NewServer(middleware.Bearer(middleware.Options{})(p))
		t.Cleanup(s.Close)
		return s
	}
	call := func(gw *httptest.Server, host string) int {
		t.Helper()
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, gw.URL+"/orders/42", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+alice)
		if host != "" {
			req.Host = host
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_ = resp.Body.Close()
		return resp.StatusCode
	}

	director := gateway(httputil.NewSingleHostReverseProxy(target))
	assert.Equal(t, http.StatusBadGateway, call(director, "evil.example"))
	assert.Equal(t, http.StatusBadGateway, call(director, ""), "the gateway's own Host is not the downstream's either")
	assert.Empty(t, e.orders.Received(), "nothing reached the downstream")

	rewrite := gateway(&httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target)
		pr.SetXForwarded()
	}})
	assert.Equal(t, http.StatusOK, call(rewrite, "evil.example"))
	got := e.orders.Received()
	require.Len(t, got, 1)
	assert.True(t, got[0].Authorized, got[0].Err)
	assert.Equal(t, []string{"orders"}, got[0].Audience)
}

// TestAuthorizationVariants: how a caller-set Authorization header is
// recognised, on routed and unrouted requests.
func TestAuthorizationVariants(t *testing.T) {
	const subject = "subject-token-abc"
	base := &fakeBase{}
	tr := newTransport(t, outbound.Options{Base: base, AllowUnrouted: true, Routes: []outbound.Route{
		{URL: "https://orders.internal", Mode: outbound.ModeOwnToken, Tokens: &staticTokens{name: "orders"}},
		{URL: "https://none.internal", Mode: outbound.ModeNone},
	}})
	tests := []struct {
		name    string
		url     string
		subject string              // in the context; "" for none
		header  map[string][]string // set on the request as they are
		want    []string            // the Authorization values sent, under any spelling
	}{
		{"no header", "https://orders.internal/x", subject, nil, []string{"Bearer orders-1"}},
		{"nil value is absent", "https://orders.internal/x", subject, map[string][]string{"Authorization": nil}, []string{"Bearer orders-1"}},
		{"empty value is absent", "https://orders.internal/x", subject, map[string][]string{"Authorization": {""}}, []string{"Bearer orders-1"}},
		{"empty values are absent", "https://orders.internal/x", subject, map[string][]string{"Authorization": {"", ""}}, []string{"Bearer orders-1"}},
		{"caller's own", "https://orders.internal/x", subject, map[string][]string{"Authorization": {"Basic b3du"}}, []string{"Basic b3du"}},
		{"caller's own, lower-case key", "https://orders.internal/x", subject, map[string][]string{"authorization": {"Basic b3du"}}, []string{"Basic b3du"}},
		{"echoed, lower-case key", "https://orders.internal/x", subject, map[string][]string{"authorization": {"Bearer " + subject}}, []string{"Bearer orders-1"}},
		{"echoed, both keys", "https://orders.internal/x", subject, map[string][]string{"authorization": {"Bearer " + subject}, "Authorization": {"Bearer " + subject}}, []string{"Bearer orders-1"}},
		{"empty canonical, echoed lower-case", "https://orders.internal/x", subject, map[string][]string{"Authorization": {""}, "AUTHORIZATION": {"bearer " + subject}}, []string{"Bearer orders-1"}},
		{"echoed, scheme case and spaces", "https://orders.internal/x", subject, map[string][]string{"Authorization": {"BEARER   " + subject}}, []string{"Bearer orders-1"}},
		{"echoed, tab and outer spaces", "https://orders.internal/x", subject, map[string][]string{"Authorization": {" bearer\t" + subject + " "}}, []string{"Bearer orders-1"}},
		{"echoed, bare token", "https://orders.internal/x", subject, map[string][]string{"Authorization": {subject}}, []string{"Bearer orders-1"}},
		{"another token the subject is a prefix of", "https://orders.internal/x", subject, map[string][]string{"Authorization": {"Bearer " + subject + "def"}}, []string{"Bearer " + subject + "def"}},
		{"another scheme containing the subject", "https://orders.internal/x", subject, map[string][]string{"Authorization": {"Basic " + subject}}, []string{"Basic " + subject}},
		{"none route strips the echo, any key", "https://none.internal/x", subject, map[string][]string{"authorization": {"Bearer " + subject}}, nil},
		{"none route keeps the caller's own", "https://none.internal/x", subject, map[string][]string{"Authorization": {"Basic b3du"}}, []string{"Basic b3du"}},
		{"none route drops an empty header", "https://none.internal/x", subject, map[string][]string{"Authorization": {""}}, nil},
		{"unrouted strips the echo", "https://public.example/x", subject, map[string][]string{"Authorization": {"Bearer " + subject}}, nil},
		{"unrouted strips an echo without subject", "https://public.example/x", "", map[string][]string{"Authorization": {"Bearer " + subject}}, nil},
		{"unrouted strips the caller's own", "https://public.example/x", subject, map[string][]string{"Authorization": {"Basic b3du"}}, nil},
		{"unrouted strips any key", "https://public.example/x", "", map[string][]string{"authorization": {"Basic b3du"}, "AuthoriZation": {"x"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.subject != "" {
				ctx = middleware.NewContext(ctx, tt.subject)
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, tt.url, nil)
			require.NoError(t, err)
			req.Header.Set("X-Trace", "1")
			for k, v := range tt.header {
				req.Header[k] = v
			}
			before := req.Header.Clone()
			resp, err := tr.RoundTrip(req)
			require.NoError(t, err)
			_ = resp.Body.Close()
			assert.Equal(t, before, req.Header, "the caller's request is not modified")

			base.mu.Lock()
			sent := base.reqs[len(base.reqs)-1].Header
			base.mu.Unlock()
			var got []string
			for k, vv := range sent {
				if http.CanonicalHeaderKey(k) == "Authorization" {
					got = append(got, vv...)
				}
			}
			assert.ElementsMatch(t, tt.want, got)
			if len(tt.want) == 1 && tt.want[0] == "Bearer orders-1" {
				assert.Len(t, sent, 2, "one Authorization field and X-Trace")
			}
			assert.Equal(t, "1", sent.Get("X-Trace"))
		})
	}
}
