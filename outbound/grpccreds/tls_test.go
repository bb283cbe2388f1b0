package grpccreds_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/middleware/grpcauth"
	"github.com/go-tokenexchange/tokenexchange/outbound"
	"github.com/go-tokenexchange/tokenexchange/outbound/grpccreds"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// loopbackTLS returns a server certificate for 127.0.0.1 and a pool
// trusting it.
func loopbackTLS(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "loopback"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pool
}

// TestOverTLS: with the default Options (transport security required),
// the credentials work on a TLS connection.
func TestOverTLS(t *testing.T) {
	a := testutil.NewAuthority(t, testutil.Options{})
	a.AddClient(testutil.Client{ID: "gateway", Secret: gatewaySecret, ExchangeAudiences: []string{"orders"}})
	cert, pool := loopbackTLS(t)

	srv := startServerWith(t, grpcauth.Options{Validator: newJWT(t, a, "orders")}, nil,
		[]grpc.ServerOption{grpc.Creds(credentials.NewServerTLSFromCert(&cert))})

	routeURL := "https://" + srv.addr
	tr, err := outbound.New(outbound.Options{Exchanger: newExchanger(t, newClient(t, a, "gateway", gatewaySecret)),
		Routes: []outbound.Route{{URL: routeURL, Mode: outbound.ModeExchange, Target: exchange.Target{Audiences: []string{"orders"}}}}})
	require.NoError(t, err)
	d, err := tr.Destination(routeURL)
	require.NoError(t, err)
	creds, err := grpccreds.New(d, grpccreds.Options{})
	require.NoError(t, err)
	conn, err := grpc.NewClient(srv.addr,
		append(creds.DialOptions(), grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})))...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })

	_, err = healthpb.NewHealthClient(conn).Check(userContext(a.UserToken("alice", "web", "gateway")), &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	assert.Equal(t, "alice", (<-srv.calls).subject)
}
