package outbound_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/outbound"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// callGateway sends GET path to gw with alice's token (and host as the
// Host header when not "") and returns the status and body.
func callGateway(t *testing.T, gw *httptest.Server, path, token, host string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, gw.URL+path, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if host != "" {
		req.Host = host
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// TestNewReverseProxy: a proxy made by NewReverseProxy sends the request
// to the target with the target's Host and the exchanged token, and
// answers a refused request through ErrorHandler; the usual
// NewSingleHostReverseProxy over the same transport is refused with
// ErrHostMismatch (502), whose message says what to do.
func TestNewReverseProxy(t *testing.T) {
	e := newEnv(t)
	alice := e.a.UserToken("alice", "web")
	tr := newTransport(t, outbound.Options{Exchanger: e.x, Routes: []outbound.Route{
		{URL: e.orders.URL + "/orders", Mode: outbound.ModeExchange, Target: exchange.Target{Audiences: []string{"orders"}}},
	}})
	target, err := url.Parse(e.orders.URL)
	require.NoError(t, err)
	serve := func(h http.Handler) *httptest.Server {
		s := httptest.NewServer(middleware.Bearer(middleware.Options{})(h))
		t.Cleanup(s.Close)
		return s
	}

	t.Run("NewSingleHostReverseProxy: ErrHostMismatch", func(t *testing.T) {
		e.orders.Reset()
		errs := make(chan error, 1)
		p := httputil.NewSingleHostReverseProxy(target)
		p.Transport = tr
		p.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
			errs <- err
			outbound.ErrorHandler(nil)(w, r, err)
		}
		status, _ := callGateway(t, serve(p), "/orders/42", alice, "")
		assert.Equal(t, http.StatusBadGateway, status)
		err := <-errs
		require.ErrorIs(t, err, outbound.ErrHostMismatch)
		for _, want := range []string{"outbound.NewReverseProxy", "Host", "request not sent"} {
			assert.Contains(t, err.Error(), want)
		}
		assert.Contains(t, outbound.ErrHostMismatch.Error(), "outbound.NewReverseProxy")
		assert.Empty(t, e.orders.Received(), "nothing reached the downstream")
	})

	t.Run("NewReverseProxy: the exchanged token at the downstream", func(t *testing.T) {
		e.orders.Reset()
		logs := &testutil.LogBuffer{}
		p := outbound.NewReverseProxy(target, tr, slog.New(slog.NewTextHandler(logs, nil)))
		gw := serve(p)
		status, body := callGateway(t, gw, "/orders/42", alice, "evil.example")
		assert.Equal(t, http.StatusOK, status, body)
		got := e.orders.Received()
		require.Len(t, got, 1)
		assert.True(t, got[0].Authorized, got[0].Err)
		assert.Equal(t, []string{"orders"}, got[0].Audience)
		assert.Equal(t, "alice", got[0].Subject)
		assert.NotEqual(t, alice, got[0].Token, "the exchanged token, not the caller's")
		assert.Equal(t, target.Host, got[0].Host, "the target's Host, not the caller's")
		assert.Equal(t, "/orders/42", got[0].Path)

		// A request the transport refuses is answered by ErrorHandler(logger).
		status, body = callGateway(t, gw, "/admin", alice, "")
		assert.Equal(t, http.StatusBadGateway, status)
		assert.JSONEq(t, `{"error":"bad_gateway","error_description":"Bad Gateway"}`, body)
		assert.Contains(t, logs.String(), "outbound: request failed")
		assert.Contains(t, logs.String(), "no route for")
		assert.NotContains(t, logs.String(), alice)
	})

	t.Run("NewReverseProxy: X-Forwarded headers", func(t *testing.T) {
		headers := make(chan http.Header, 1)
		plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			headers <- r.Header.Clone()
		}))
		t.Cleanup(plain.Close)
		none := newTransport(t, outbound.Options{Routes: []outbound.Route{{URL: plain.URL, Mode: outbound.ModeNone}}})
		u, err := url.Parse(plain.URL)
		require.NoError(t, err)
		gw := serve(outbound.NewReverseProxy(u, none, nil))
		status, _ := callGateway(t, gw, "/x", alice, "caller.example")
		assert.Equal(t, http.StatusOK, status)
		h := <-headers
		assert.Equal(t, "caller.example", h.Get("X-Forwarded-Host"))
		assert.Equal(t, "http", h.Get("X-Forwarded-Proto"))
		assert.NotEmpty(t, h.Get("X-Forwarded-For"))
		assert.Empty(t, h.Get("Authorization"), "the caller's token is not forwarded on a ModeNone route")
	})
}

// TestNewReverseProxyMisuse: a nil target or transport is a programming
// error (a nil transport would forward the caller's token unchanged).
func TestNewReverseProxyMisuse(t *testing.T) {
	u, err := url.Parse("https://orders.internal")
	require.NoError(t, err)
	for _, tc := range []struct {
		name   string
		target *url.URL
		rt     http.RoundTripper
		want   string
	}{
		{"nil target", nil, &outbound.Transport{}, "nil target"},
		{"nil transport", u, nil, "nil transport"},
		{"nil *Transport", u, (*outbound.Transport)(nil), "nil transport"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				require.NotNil(t, r)
				msg, _ := r.(string)
				assert.True(t, strings.HasPrefix(msg, "outbound: NewReverseProxy: "), msg)
				assert.Contains(t, msg, tc.want)
			}()
			outbound.NewReverseProxy(tc.target, tc.rt, nil)
		})
	}
}
