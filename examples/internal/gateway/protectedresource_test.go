package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/go-tokenexchange/tokenexchange/testutil"
)

func TestParseFlagsProtectedResource(t *testing.T) {
	base := []string{"-issuer", "https://kc.example/realms/r", "-client-id", "gateway", "-route", "/api/o=http://h:1"}
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string // ProtectedResource, or the error's text when err is true
		err  bool
	}{
		{"flag", append(slices.Clone(base), "-protected-resource", "https://gw.example/api"), nil, "https://gw.example/api", false},
		{"environment", base, map[string]string{"TX_PROTECTED_RESOURCE": "https://gw.example"}, "https://gw.example", false},
		{"loopback http", append(slices.Clone(base), "-protected-resource", "http://127.0.0.1:8080"), nil, "http://127.0.0.1:8080", false},
		{"http", append(slices.Clone(base), "-protected-resource", "http://gw.example"), nil, "-protected-resource: \"http://gw.example\": http is accepted only for a loopback host", true},
		{"fragment", append(slices.Clone(base), "-protected-resource", "https://gw.example/#a"), nil, "-protected-resource: \"https://gw.example/#a\" has a fragment", true},
		{"query", append(slices.Clone(base), "-protected-resource", "https://gw.example/?a"), nil, "has a query", true},
		{"relative", append(slices.Clone(base), "-protected-resource", "/api"), nil, "not an absolute URL", true},
		{"no issuer", []string{"-token-url", "https://kc.example/token", "-client-id", "gateway", "-route", "/api/o=http://h:1", "-protected-resource", "https://gw.example"}, nil, "-protected-resource needs -issuer", true},
		{"embedded", []string{"-protected-resource", "https://gw.example"}, nil, "-protected-resource needs -issuer", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ParseFlags("gw", tc.args, envOf(tc.env))
			if tc.err {
				if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
					t.Errorf("err %v, want one line with %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.ProtectedResource != tc.want {
				t.Errorf("ProtectedResource %q, want %q", cfg.ProtectedResource, tc.want)
			}
			if aud := cfg.inboundAudiences(); !slices.Equal(aud, []string{"gateway", tc.want}) {
				t.Errorf("inbound audiences %q, want the client id and the resource", aud)
			}
		})
	}
	cfg := Config{Audiences: []string{"a", "https://gw.example"}, ProtectedResource: "https://gw.example"}
	if aud := cfg.inboundAudiences(); !slices.Equal(aud, []string{"a", "https://gw.example"}) {
		t.Errorf("a resource already among -audience is not added twice: %q", aud)
	}
	var stdout, stderr bytes.Buffer
	if code := Main(context.Background(), "gw", append(slices.Clone(base), "-protected-resource", "ftp://gw.example"), envOf(nil), &stdout, &stderr, nil); code != 2 || strings.Count(stderr.String(), "\n") != 1 {
		t.Errorf("bad -protected-resource: exit %d, stderr %q; want 2 and one line", code, stderr.String())
	}
	stderr.Reset()
	Main(context.Background(), "gw", []string{"-help"}, envOf(nil), &stdout, &stderr, nil)
	if !strings.Contains(stderr.String(), "[TX_PROTECTED_RESOURCE]") {
		t.Error("-help lacks -protected-resource")
	}
}

// prGateway is a gateway with -protected-resource serving on its own
// listener, whose address is known before the gateway is built, since the
// resource identifier must name it.
type prGateway struct {
	url      string // the base URL, the resource identifier
	metadata string // the metadata URL
}

func startProtectedGateway(t *testing.T, a *testutil.Authority, validate bool, routes ...string) prGateway {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	cfg := Config{
		Issuer:            a.Issuer(),
		TokenURL:          a.TokenURL(),
		ClientID:          "gateway",
		ClientSecret:      "gateway-secret",
		HTTPClient:        a.Client(),
		ProtectedResource: base,
	}
	if validate {
		cfg.JWKSURL = a.JWKSURL()
	}
	for _, s := range routes {
		r, err := ParseRoute(s)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Routes = append(cfg.Routes, r)
	}
	g, err := New(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	mux := http.NewServeMux()
	mux.Handle("/api/{service}/", g.Authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.Proxy(w, r, r.PathValue("service"))
	})))
	srv.Config.Handler = g.AccessLog(g.ProtectedResource(mux))
	srv.Start()
	t.Cleanup(srv.Close)
	return prGateway{url: base, metadata: base + "/.well-known/oauth-protected-resource"}
}

// TestGatewayProtectedResource: the gateway serves its RFC 9728 document
// (issuer as authorization server, header only), names it in the
// challenges of its own refusals (no token, bad token) and accepts tokens
// whose audience is the resource identifier (RFC 8707).
func TestGatewayProtectedResource(t *testing.T) {
	a := testutil.NewAuthority(t, testutil.Options{})
	a.AddClient(testutil.Client{ID: "gateway", Secret: "gateway-secret"})
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "downstream") }))
	t.Cleanup(down.Close)
	gw := startProtectedGateway(t, a, true, "/api/open="+down.URL+";mode=none")

	resp, body := send(t, http.MethodGet, gw.metadata, "")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("metadata: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var doc struct {
		Resource             string   `json:"resource"`
		AuthorizationServers []string `json:"authorization_servers"`
		BearerMethods        []string `json:"bearer_methods_supported"`
		Scopes               []string `json:"scopes_supported"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Resource != gw.url || !slices.Equal(doc.AuthorizationServers, []string{a.Issuer()}) ||
		!slices.Equal(doc.BearerMethods, []string{"header"}) || doc.Scopes != nil {
		t.Errorf("metadata %+v", doc)
	}
	if resp, _ := send(t, http.MethodPost, gw.metadata, ""); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST metadata: %d, want 405", resp.StatusCode)
	}

	want := `resource_metadata="` + gw.metadata + `"`
	for _, tc := range []struct {
		name, token string
		status      int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"foreign audience", a.UserToken("alice", "cli", "orders"), http.StatusUnauthorized},
		{"not a token", "garbage", http.StatusUnauthorized},
		{"resource audience", a.UserToken("alice", "cli", gw.url), http.StatusOK},
		{"client id audience", a.UserToken("alice", "cli", "gateway"), http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := send(t, http.MethodGet, gw.url+"/api/open/x", tc.token)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d (%s)", resp.StatusCode, tc.status, body)
			}
			c := resp.Header.Get("WWW-Authenticate")
			if tc.status == http.StatusUnauthorized && !strings.Contains(c, want) {
				t.Errorf("challenge %q lacks %s", c, want)
			}
			if tc.status == http.StatusOK && body != "downstream" {
				t.Errorf("body %q", body)
			}
		})
	}
}

// TestGatewayProtectedResourceOutbound: without inbound validation, a
// token the authority refuses at the exchange is answered 401 by the
// outbound error handler, whose challenge names the metadata too.
func TestGatewayProtectedResourceOutbound(t *testing.T) {
	a := testutil.NewAuthority(t, testutil.Options{})
	a.AddClient(testutil.Client{ID: "gateway", Secret: "gateway-secret", ExchangeAudiences: []string{"orders"}})
	orders := testutil.NewResourceServer(t, a, "orders")
	gw := startProtectedGateway(t, a, false, "/api/orders="+orders.URL+";audience=orders")

	resp, body := send(t, http.MethodGet, gw.url+"/api/orders/1", "not-a-token-the-authority-knows")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401 (%s)", resp.StatusCode, body)
	}
	c := resp.Header.Get("WWW-Authenticate")
	if !strings.HasPrefix(c, "Bearer ") || !strings.HasSuffix(c, `, resource_metadata="`+gw.metadata+`"`) {
		t.Errorf("challenge %q lacks the metadata", c)
	}
	if strings.Contains(body, "not-a-token") || strings.Contains(c, "not-a-token") {
		t.Error("the token leaked into the answer")
	}
}

func TestAppendResourceMetadata(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Bearer", `Bearer resource_metadata="https://g/x\"y\\"`},
		{`Bearer error="invalid_token"`, `Bearer error="invalid_token", resource_metadata="https://g/x\"y\\"`},
	} {
		if got := appendResourceMetadata(tc.in, `https://g/x"y\`); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
		}
	}
}

// send sends method u with token ("" for none) and returns the response
// with its body read.
func send(t *testing.T, method, u, token string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}
