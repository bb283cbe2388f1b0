package gateway

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// TestDialectFlag: -dialect and TX_DIALECT, and exit 2 for what
// entra-obo cannot send.
func TestDialectFlag(t *testing.T) {
	base := []string{"-token-url", "https://login.example/t/oauth2/v2.0/token", "-client-id", "gw", "-client-secret", "s"}
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want exchange.Dialect
		err  string // "" when valid
	}{
		{"default", []string{"-route", "/api/o=http://h;audience=x"}, nil, exchange.DialectRFC8693, ""},
		{"rfc8693", []string{"-dialect", "rfc8693", "-route", "/api/o=http://h"}, nil, exchange.DialectRFC8693, ""},
		{"entra-obo", []string{"-dialect", "entra-obo", "-route", "/api/o=http://h;scope=api://orders/.default", "-route", "/api/p=http://h;mode=none", "-insecure-skip-validation"}, nil, exchange.DialectEntraOBO, ""},
		{"TX_DIALECT", []string{"-route", "/api/o=http://h;scope=api://orders/.default"}, map[string]string{"TX_DIALECT": "entra-obo"}, exchange.DialectEntraOBO, ""},
		{"flag wins", []string{"-dialect", "rfc8693", "-route", "/api/o=http://h"}, map[string]string{"TX_DIALECT": "entra-obo"}, exchange.DialectRFC8693, ""},
		{"unknown", []string{"-dialect", "saml", "-route", "/api/o=http://h"}, nil, 0, "want rfc8693 or entra-obo"},
		{"obo audience", []string{"-dialect", "entra-obo", "-route", "/api/o=http://h;audience=o;scope=api://orders/.default"}, nil, 0, "-route /api/o: audience is not available with -dialect entra-obo"},
		{"obo resource", []string{"-dialect", "entra-obo", "-route", "/api/o=http://h;resource=https://o.example/;scope=api://orders/.default"}, nil, 0, "resource is not available"},
		{"obo actor", []string{"-dialect", "entra-obo", "-route", "/api/o=http://h;actor=true;scope=api://orders/.default"}, nil, 0, "actor is not available"},
		{"obo no scope", []string{"-dialect", "entra-obo", "-route", "/api/o=http://h"}, nil, 0, "-dialect entra-obo needs a scope"},
		{"obo subject token type", []string{"-dialect", "entra-obo", "-subject-token-type", "jwt", "-route", "/api/o=http://h;scope=api://orders/.default"}, nil, 0, "-subject-token-type does not apply"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ParseFlags("gw", append(append([]string{}, base...), tc.args...), envOf(tc.env))
			switch {
			case tc.err == "" && err != nil:
				t.Fatal(err)
			case tc.err == "" && cfg.Dialect != tc.want:
				t.Errorf("dialect %s, want %s", cfg.Dialect, tc.want)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Errorf("error %v, want %q in it", err, tc.err)
			}
			if tc.err != "" {
				var stderr bytes.Buffer
				if code := Main(context.Background(), "gw", append(append([]string{}, base...), tc.args...), envOf(tc.env), io.Discard, &stderr, nil); code != 2 {
					t.Errorf("exit %d, want 2 (%s)", code, stderr.String())
				}
			}
		})
	}
	if _, err := ParseFlags("gw", []string{"-dialect", "entra-obo"}, envOf(nil)); err == nil || !strings.Contains(err.Error(), "embedded demo speaks RFC 8693") {
		t.Errorf("embedded with entra-obo: %v", err)
	}
}

// TestDialectsEndToEnd runs a gateway in each dialect against the test
// authority: RFC 8693 with a client secret; On-Behalf-Of with the client
// certificate (private_key_jwt with x5t#S256, -client-key and
// -client-cert), its claims challenge and consent refusal passed to the
// caller. Neither leaks the caller's token into the gateway's logs or
// /metrics.
func TestDialectsEndToEnd(t *testing.T) {
	a := testutil.NewAuthority(t, testutil.Options{Algorithm: testutil.ES256})
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := testutil.SelfSignedCertificate(key, "gateway")
	if err != nil {
		t.Fatal(err)
	}
	a.AddClient(testutil.Client{ID: "gateway", Secret: "gateway-secret", ExchangeAudiences: []string{"orders"}})
	a.AddClient(testutil.Client{ID: "mid-tier", AuthMethod: testutil.AuthPrivateKeyJWT, Certificate: cert})
	a.RequireConsent("api://billing/.default")
	a.RequireStepUp("api://payroll/.default", "c1")
	orders := testutil.NewResourceServer(t, a, "orders")
	oboOrders := testutil.NewResourceServer(t, a, "api://orders")

	dir := t.TempDir()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyFile, certFile := filepath.Join(dir, "key.pem"), filepath.Join(dir, "cert.pem")
	for file, block := range map[string]*pem.Block{keyFile: {Type: "PRIVATE KEY", Bytes: der}, certFile: {Type: "CERTIFICATE", Bytes: cert.Raw}} {
		if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	type call struct {
		path, token string
		status      int
		challenge   string
	}
	alice := a.IssueToken(testutil.TokenClaims{Subject: "alice", Audience: []string{"gateway", "mid-tier"}})
	forOther := a.IssueToken(testutil.TokenClaims{Subject: "alice", Audience: []string{"web"}})
	claimsB64 := base64.StdEncoding.EncodeToString([]byte(testutil.StepUpClaims("c1")))
	for _, tc := range []struct {
		name  string
		args  []string
		env   map[string]string
		down  *testutil.ResourceServer
		aud   string
		calls []call
	}{
		{name: "rfc8693", args: []string{"-token-url", a.TokenURL(), "-client-id", "gateway",
			"-route", "/api/orders=" + orders.URL}, env: map[string]string{"TX_CLIENT_SECRET": "gateway-secret"},
			down: orders, aud: "orders",
			calls: []call{{"/api/orders/1", alice, 200, ""}, {"/api/orders/2", alice, 200, ""}}},
		{name: "entra-obo", args: []string{"-issuer", a.Issuer(), "-client-id", "mid-tier", "-client-key", keyFile, "-client-cert", certFile,
			"-route", "/api/orders=" + oboOrders.URL + ";scope=api://orders/.default",
			"-route", "/api/payroll=" + oboOrders.URL + ";scope=api://payroll/.default",
			"-route", "/api/billing=" + oboOrders.URL + ";scope=api://billing/.default"},
			env:  map[string]string{"TX_DIALECT": "entra-obo"},
			down: oboOrders, aud: "api://orders",
			calls: []call{
				{"/api/orders/1", alice, 200, ""},
				{"/api/orders/2", alice, 200, ""},
				{"/api/orders/3", forOther, 401, `Bearer error="invalid_token"`},
				{"/api/payroll/1", alice, 401, `Bearer realm="", authorization_uri="` + a.URL + `/authorize", error="insufficient_claims", claims="` + claimsB64 + `"`},
				{"/api/billing/1", alice, 403, ""},
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a.Reset()
			tc.down.Reset()
			cfg, err := ParseFlags("gw", tc.args, envOf(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			logs := &syncWriter{w: new(bytes.Buffer)}
			g, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(g.Close)
			mux := http.NewServeMux()
			mux.HandleFunc("/api/{service}/", func(w http.ResponseWriter, r *http.Request) { g.Proxy(w, r, r.PathValue("service")) })
			srv := httptest.NewServer(g.Authenticate(mux))
			t.Cleanup(srv.Close)
			for _, c := range tc.calls {
				req, _ := http.NewRequest(http.MethodGet, srv.URL+c.path, nil)
				req.Header.Set("Authorization", "Bearer "+c.token)
				resp, err := srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != c.status || resp.Header.Get("WWW-Authenticate") != c.challenge {
					t.Errorf("%s: %d %q, want %d %q (%s)", c.path, resp.StatusCode, resp.Header.Get("WWW-Authenticate"), c.status, c.challenge, body)
				}
			}
			got := tc.down.Received()
			if len(got) != 2 {
				t.Fatalf("downstream received %d requests, want 2", len(got))
			}
			for _, r := range got {
				if !r.Authorized || r.Subject != "alice" || len(r.Audience) != 1 || r.Audience[0] != tc.aud {
					t.Errorf("downstream saw %+v", r)
				}
			}
			grant := testutil.GrantTokenExchange
			if tc.name == "entra-obo" {
				grant = testutil.GrantJWTBearer
			}
			if n := a.Issued(grant); n != 1 {
				t.Errorf("%d tokens issued by %s, want 1 (the second call is a cache hit)", n, grant)
			}
			rec := httptest.NewRecorder()
			g.Metrics(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
			if !strings.Contains(rec.Body.String(), "tokenexchange_") {
				t.Errorf("no library metrics in /metrics: %.300s", rec.Body.String())
			}
			for _, tok := range []string{alice, forOther} {
				if strings.Contains(logs.String(), tok) {
					t.Error("the gateway logged a caller's token")
				}
				if strings.Contains(rec.Body.String(), tok) || strings.Contains(rec.Body.String(), testutil.StepUpClaims("c1")) {
					t.Error("/metrics holds a caller's token or a claims challenge")
				}
			}
		})
	}
}

// syncWriter serializes writes to w: the gateway logs from several
// goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.(*bytes.Buffer).String()
}
