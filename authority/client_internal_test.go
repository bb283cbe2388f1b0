package authority

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"math/big"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDiscoveryURLs(t *testing.T) {
	assert.Equal(t, []string{
		"https://as.example/.well-known/oauth-authorization-server",
		"https://as.example/.well-known/openid-configuration",
	}, discoveryURLs("https://as.example"))
	assert.Equal(t, []string{
		"https://kc.example/.well-known/oauth-authorization-server/realms/master",
		"https://kc.example/realms/master/.well-known/openid-configuration",
		"https://kc.example/realms/master/.well-known/oauth-authorization-server",
	}, discoveryURLs("https://kc.example/realms/master/"))
}

// TestNewSigner checks the startup checks of Config.Signer: the algorithm
// the key implies or SigningAlgorithm when it suits the key, and a clear
// error from New for a key that cannot sign assertions.
func TestNewSigner(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	p521, err := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	require.NoError(t, err)
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	// A P-256 key whose public point is moved off the curve.
	y := new(big.Int).Xor(p256.Y, big.NewInt(1))
	offCurve := &ecdsa.PrivateKey{PublicKey: ecdsa.PublicKey{Curve: elliptic.P256(), X: p256.X, Y: y}, D: p256.D}

	tests := []struct {
		name   string
		signer crypto.Signer
		alg    SigningAlgorithm
		want   SigningAlgorithm
		err    string
	}{
		{name: "rsa", signer: rsaKey, want: RS256},
		{name: "rsa with alg", signer: rsaKey, alg: PS256, want: PS256},
		{name: "p384", signer: p384, want: ES384},
		{name: "p521", signer: p521, want: ES512},
		{name: "ed25519", signer: edKey, want: EdDSA},
		{name: "opaque signer", signer: opaqueSigner{p384}, want: ES384},
		{name: "alg none", signer: rsaKey, alg: "none", err: `algorithm "none" does not suit an RSA key`},
		{name: "EC key with an RSA alg", signer: p256, alg: RS256, err: "does not suit an EC key on P-256"},
		{name: "P-256 key with ES384", signer: p256, alg: ES384, err: "does not suit an EC key on P-256"},
		{name: "RSA key with an EC alg", signer: rsaKey, alg: ES256, err: "does not suit an RSA key"},
		{name: "RSA key with HS256", signer: rsaKey, alg: "HS256", err: "does not suit an RSA key"},
		{name: "1024-bit RSA", signer: small, err: "a 1024-bit RSA key; at least 2048 bits"},
		{name: "point off the curve", signer: offCurve, err: "authority: Config.Signer: "},
		{name: "signer that fails", signer: failingSigner{pub: rsaKey.Public()}, err: "cannot sign"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(Config{TokenURL: "https://as/token", ClientID: "c", Signer: tt.signer, SigningAlgorithm: tt.alg})
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				assert.True(t, strings.HasPrefix(err.Error(), "authority: Config.Signer: "), err.Error())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, c.assertions.alg)
			assert.Equal(t, AuthPrivateKeyJWT, c.endpoint.method)
		})
	}
}

func TestChooseAuthMethod(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tests := []struct {
		name      string
		cfg       Config
		supported []string
		want      AuthMethod
	}{
		{name: "explicit", cfg: Config{AuthMethod: AuthClientSecretPost, ClientSecret: "s"}, want: AuthClientSecretPost},
		{name: "secret, nothing advertised", cfg: Config{ClientSecret: "s"}, want: AuthClientSecretBasic},
		{name: "secret, post only", cfg: Config{ClientSecret: "s"}, supported: []string{"client_secret_post"}, want: AuthClientSecretPost},
		{name: "secret, neither advertised", cfg: Config{ClientSecret: "s"}, supported: []string{"tls_client_auth"}, want: AuthClientSecretBasic},
		{name: "key", cfg: Config{Signer: key, ClientSecret: "s"}, supported: []string{"private_key_jwt", "client_secret_basic"}, want: AuthPrivateKeyJWT},
		{name: "key not advertised, secret is", cfg: Config{Signer: key, ClientSecret: "s"}, supported: []string{"client_secret_basic"}, want: AuthClientSecretBasic},
		{name: "key only", cfg: Config{Signer: key}, supported: []string{"client_secret_basic"}, want: AuthPrivateKeyJWT},
		{name: "public", cfg: Config{}, want: AuthNone},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, chooseAuthMethod(tt.cfg, tt.supported), tt.name)
	}
}

func TestIdentity(t *testing.T) {
	a, err := New(Config{TokenURL: "https://as/token", ClientID: "a"})
	require.NoError(t, err)
	b, err := New(Config{TokenURL: "https://as/token", ClientID: "b"})
	require.NoError(t, err)
	c, err := New(Config{TokenURL: "https://as/tokena", ClientID: ""})
	require.Error(t, err)
	assert.Nil(t, c)
	assert.NotEqual(t, a.Identity(), b.Identity())
	assert.Equal(t, "a", a.ClientID())
	assert.Contains(t, ErrInvalidGrant.Error(), "invalid_grant")
}
