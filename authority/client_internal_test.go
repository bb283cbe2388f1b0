package authority

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
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

func TestSigningAlgorithm(t *testing.T) {
	mustKey := func(raw any, alg string) jwk.Key {
		k, err := jwk.FromRaw(raw)
		require.NoError(t, err)
		if alg != "" {
			require.NoError(t, k.Set(jwk.AlgorithmKey, alg))
		}
		return k
	}
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
	forEncryption := mustKey(rsaKey, "")
	require.NoError(t, forEncryption.Set(jwk.KeyUsageKey, "enc"))

	tests := []struct {
		name string
		key  jwk.Key
		want jwa.SignatureAlgorithm
		err  bool
	}{
		{name: "rsa", key: mustKey(rsaKey, ""), want: jwa.RS256},
		{name: "rsa with alg", key: mustKey(rsaKey, "PS256"), want: jwa.PS256},
		{name: "p384", key: mustKey(p384, ""), want: jwa.ES384},
		{name: "p521", key: mustKey(p521, ""), want: jwa.ES512},
		{name: "ed25519", key: mustKey(edKey, ""), want: jwa.EdDSA},
		{name: "public key", key: mustKey(&rsaKey.PublicKey, ""), err: true},
		{name: "symmetric", key: mustKey([]byte("0123456789abcdef0123456789abcdef"), ""), err: true},
		{name: "alg none", key: mustKey(rsaKey, "none"), err: true},
		{name: "EC key with an RSA alg", key: mustKey(p256, "RS256"), err: true},
		{name: "P-256 key with ES384", key: mustKey(p256, "ES384"), err: true},
		{name: "RSA key with an EC alg", key: mustKey(rsaKey, "ES256"), err: true},
		{name: "RSA key with HS256", key: mustKey(rsaKey, "HS256"), err: true},
		{name: "1024-bit RSA", key: mustKey(small, ""), err: true},
		{name: "key for encryption", key: forEncryption, err: true},
	}
	// A P-256 key whose public point is moved off the curve.
	offCurve := mustKey(p256, "")
	y := offCurve.(jwk.ECDSAPrivateKey).Y()
	y[len(y)-1] ^= 1
	require.NoError(t, offCurve.Set(jwk.ECDSAYKey, y))
	tests = append(tests, struct {
		name string
		key  jwk.Key
		want jwa.SignatureAlgorithm
		err  bool
	}{name: "point off the curve", key: offCurve, err: true})

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := signingAlgorithm(tt.key)
			if tt.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestChooseAuthMethod(t *testing.T) {
	key, err := jwk.FromRaw([]byte("0123456789abcdef"))
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
		{name: "key", cfg: Config{PrivateKey: key, ClientSecret: "s"}, supported: []string{"private_key_jwt", "client_secret_basic"}, want: AuthPrivateKeyJWT},
		{name: "key not advertised, secret is", cfg: Config{PrivateKey: key, ClientSecret: "s"}, supported: []string{"client_secret_basic"}, want: AuthClientSecretBasic},
		{name: "key only", cfg: Config{PrivateKey: key}, supported: []string{"client_secret_basic"}, want: AuthPrivateKeyJWT},
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
