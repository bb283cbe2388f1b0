package gatewaytest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/examples/internal/gateway"
	"github.com/go-tokenexchange/tokenexchange/internal/oteltest"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// ClientKeyFiles generates an EC P-256 key and writes it to dir as
// key.pem (PKCS#8) and key.jwk (a JWK without kid), and a self-signed
// certificate for it as cert.pem. It returns the paths of the key files,
// the public key and the certificate's path and value.
func ClientKeyFiles(tb testing.TB, dir string) (pemPath, jwkPath string, pub crypto.PublicKey, certPath string, cert *x509.Certificate) {
	tb.Helper()
	raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(tb, err)
	der, err := x509.MarshalPKCS8PrivateKey(raw)
	require.NoError(tb, err)
	pemPath = filepath.Join(dir, "key.pem")
	require.NoError(tb, os.WriteFile(pemPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600))
	key, err := jwk.FromRaw(raw)
	require.NoError(tb, err)
	js, err := json.Marshal(key)
	require.NoError(tb, err)
	jwkPath = filepath.Join(dir, "key.jwk")
	require.NoError(tb, os.WriteFile(jwkPath, js, 0o600))
	cert, err = testutil.SelfSignedCertificate(raw, ClientID)
	require.NoError(tb, err)
	certDER := cert.Raw
	certPath = filepath.Join(dir, "cert.pem")
	require.NoError(tb, os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER}), 0o600))
	return pemPath, jwkPath, raw.Public(), certPath, cert
}

// RunClientKey runs gateways that authenticate with private_key_jwt, the
// key given by -client-key as PEM and as a JWK (TX_CLIENT_KEY, with
// -client-key-id), against an authority that registered the gateway as
// a private_key_jwt client: exchanges work end to end. With a key the
// authority does not know, it answers invalid_client and the gateway 502:
// its own configuration is wrong.
func RunClientKey(t *testing.T, newRouter Router) {
	pemPath, jwkPath, pub, certPath, cert := ClientKeyFiles(t, t.TempDir())
	a := testutil.NewAuthority(t, testutil.Options{})
	a.AddClient(testutil.Client{ID: ClientID, AuthMethod: "private_key_jwt", PublicKey: pub, KeyID: "gw-1", ExchangeAudiences: []string{"orders"}})
	// The same key registered as a certificate credential, as at Entra
	// ID: the assertion must carry the certificate's x5t#S256.
	certClient := ClientID + "-cert"
	a.AddClient(testutil.Client{ID: certClient, AuthMethod: "private_key_jwt", Certificate: cert, ExchangeAudiences: []string{"orders"}})
	orders := testutil.NewResourceServer(t, a, "orders")
	args := []string{
		"-listen", "127.0.0.1:0", "-token-url", a.TokenURL(), "-issuer", a.Issuer(), "-client-id", ClientID,
		"-jwks-url", a.JWKSURL(), "-route", "/api/orders=" + orders.URL + ";scope=orders.read",
	}
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"PEM", []string{"-client-key", pemPath}, nil},
		{"PEM, private_key_jwt named", []string{"-client-key", pemPath, "-auth-method", "private_key_jwt"}, nil},
		{"JWK", []string{"-client-key-id", "gw-1"}, map[string]string{"TX_CLIENT_KEY": jwkPath}},
		{"JWK and a secret", []string{"-client-key", jwkPath}, map[string]string{"TX_CLIENT_SECRET": "unused"}},
		{"PEM and certificate", []string{"-client-id", certClient, "-audience", ClientID, "-client-key", pemPath, "-client-cert", certPath}, nil},
		{"JWK and certificate", []string{"-client-id", certClient, "-audience", ClientID}, map[string]string{"TX_CLIENT_KEY": jwkPath, "TX_CLIENT_CERT": certPath}},
	} {
		cfg, err := gateway.ParseFlags("test", append(append([]string{}, args...), tc.args...), func(k string) string { return tc.env[k] })
		require.NoError(t, err, tc.name)
		require.NotNil(t, cfg.ClientKey, tc.name)
		base := runUntilReady(t, cfg, newRouter, nil, nil)
		resp, body := do(t, http.MethodGet, base+"/api/orders/7", a.UserToken(User, "cli", ClientID), "")
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", tc.name, body)
		got := last(t, orders)
		assert.Equal(t, User, got.Subject, tc.name)
		assert.Equal(t, []string{"orders"}, got.Audience, tc.name)
		assert.Equal(t, "orders.read", got.Scope, tc.name)
	}
	n := len(orders.Received())

	// A key the authority does not know: invalid_client, 502.
	otherPEM, _, _, _, _ := ClientKeyFiles(t, t.TempDir())
	cfg, err := gateway.ParseFlags("test", append(args, "-client-key", otherPEM), noEnv)
	require.NoError(t, err)
	var logs testutil.LogBuffer
	traces := oteltest.NewTraces(t)
	cfg.TracerProvider = traces.Provider
	base := runUntilReady(t, cfg, newRouter, nil, debugLogger(&logs))
	tok := a.UserToken(User, "cli", ClientID)
	resp, body := do(t, http.MethodGet, base+"/api/orders/7", tok, "")
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode, body)
	assert.Contains(t, logs.String(), "invalid_client")
	assert.Len(t, orders.Received(), n, "nothing forwarded")
	_, scrape := do(t, http.MethodGet, base+"/metrics", "", "")
	key, err := os.ReadFile(otherPEM)
	require.NoError(t, err)
	for _, line := range strings.Split(strings.TrimSpace(string(key)), "\n")[1:] {
		if !strings.HasPrefix(line, "-----") {
			assert.NotContains(t, logs.String(), line, "no key material in the logs")
			assert.NotContains(t, body, line, "no key material in the answer")
			assert.NotContains(t, scrape, line, "no key material in the metrics")
			assert.NotContains(t, strings.Join(traces.Strings(), "\n"), line, "no key material in the spans")
		}
	}
	checkNoLeaks(t, []string{tok}, map[string]string{
		"the /metrics scrape": scrape,
		"the spans":           strings.Join(traces.Strings(), "\n"),
		"the logs":            logs.String(),
	})
}
