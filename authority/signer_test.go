package authority_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hsmSigner stands for a key that never leaves an HSM or a cloud KMS: only
// crypto.Signer is visible. Its own printing would give the key away.
type hsmSigner struct{ key crypto.Signer }

func (s hsmSigner) Public() crypto.PublicKey { return s.key.Public() }
func (s hsmSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return s.key.Sign(r, digest, opts)
}
func (hsmSigner) String() string { return "HSM-KEY-MATERIAL" }

// certificateFor returns a self-signed certificate for key, as one
// registers a certificate credential at Entra ID.
func certificateFor(t *testing.T, key crypto.Signer) *x509.Certificate {
	t.Helper()
	cert, err := testutil.SelfSignedCertificate(key, "gateway")
	require.NoError(t, err)
	return cert
}

// TestPrivateKeyJWTSigners authenticates with private_key_jwt for every
// kind of key, through a crypto.Signer, against an authority that
// requires the registered kid and, as Entra ID does, the certificate's
// x5t#S256 thumbprint.
func TestPrivateKeyJWTSigners(t *testing.T) {
	a := newAuthority(t, testutil.Options{})
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	tests := []struct {
		name   string
		signer crypto.Signer
		alg    authority.SigningAlgorithm
	}{
		{"RSA", rsaKey, ""},
		{"RSA PS256", rsaKey, authority.PS256},
		{"RSA RS512", rsaKey, authority.RS512},
		{"EC P-256", newECKey(t), ""},
		{"EC P-384", p384, authority.ES384},
		{"Ed25519", edKey, ""},
		{"HSM", hsmSigner{newECKey(t)}, ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := fmt.Sprintf("signer-%d", i)
			cert := certificateFor(t, tt.signer)
			a.AddClient(testutil.Client{ID: id, AuthMethod: "private_key_jwt", KeyID: "k-" + id, Certificate: cert})
			c := newClient(t, a, authority.Config{ClientID: id, Signer: tt.signer, SigningAlgorithm: tt.alg, KeyID: "k-" + id, Certificate: cert})
			tok, err := c.ClientCredentials(context.Background(), authority.ClientCredentialsRequest{})
			require.NoError(t, err)
			assert.Equal(t, id, claims(t, tok.AccessToken).Subject())

			// The authority refuses an assertion without the thumbprint
			// or naming another key.
			for name, cfg := range map[string]authority.Config{
				"no certificate": {ClientID: id, Signer: tt.signer, SigningAlgorithm: tt.alg, KeyID: "k-" + id},
				"another kid":    {ClientID: id, Signer: tt.signer, SigningAlgorithm: tt.alg, KeyID: "other", Certificate: cert},
			} {
				_, err := newClient(t, a, cfg).ClientCredentials(context.Background(), authority.ClientCredentialsRequest{})
				require.ErrorIs(t, err, authority.ErrInvalidClient, name)
			}
		})
	}
}

// TestNewRefusesSignerConfig: New names what is wrong with the signing
// configuration.
func TestNewRefusesSignerConfig(t *testing.T) {
	key := newECKey(t)
	other := newECKey(t)
	base := authority.Config{TokenURL: "https://as.example/token", ClientID: "gateway"}
	tests := []struct {
		name string
		edit func(*authority.Config)
		want string
	}{
		{"private_key_jwt without a signer", func(c *authority.Config) { c.AuthMethod = authority.AuthPrivateKeyJWT }, "private_key_jwt needs Config.Signer"},
		{"key id without a signer", func(c *authority.Config) { c.KeyID = "k1" }, "need Config.Signer"},
		{"certificate without a signer", func(c *authority.Config) { c.Certificate = certificateFor(t, key) }, "need Config.Signer"},
		{"algorithm without a signer", func(c *authority.Config) { c.SigningAlgorithm = authority.ES256 }, "need Config.Signer"},
		{"another key's certificate", func(c *authority.Config) { c.Signer, c.Certificate = key, certificateFor(t, other) }, "authority: Config.Signer: the certificate's public key is not the signer's"},
		{"algorithm that does not suit the key", func(c *authority.Config) { c.Signer, c.SigningAlgorithm = key, authority.RS256 }, `authority: Config.Signer: algorithm "RS256" does not suit an EC key on P-256`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			tt.edit(&cfg)
			c, err := authority.New(cfg)
			require.Error(t, err)
			assert.Nil(t, c)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// TestConfigPrintingRedactsSigner: neither a Config nor a Client prints
// anything its Signer would print of itself.
func TestConfigPrintingRedactsSigner(t *testing.T) {
	key := hsmSigner{newECKey(t)}
	cfg := authority.Config{TokenURL: "https://as.example/token", ClientID: "gateway", Signer: key, KeyID: "k1", Certificate: certificateFor(t, key)}
	c, err := authority.New(cfg)
	require.NoError(t, err)
	for _, v := range []any{cfg, &cfg, c} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
			out := fmt.Sprintf(verb, v)
			assert.NotContains(t, out, "HSM-KEY-MATERIAL", "%s of %T", verb, v)
			assert.Contains(t, out, "Signer:[redacted]", "%s of %T", verb, v)
			assert.Contains(t, out, "k1", "%s of %T", verb, v)
		}
	}
	js, err := cfg.MarshalJSON()
	require.NoError(t, err)
	assert.Contains(t, string(js), `"signer":"[redacted]"`)
	assert.NotContains(t, string(js), "HSM-KEY-MATERIAL")
	assert.True(t, strings.Contains(cfg.String(), "Certificate:x5t#S256="), cfg.String())
	assert.Contains(t, authority.Config{}.String(), "Signer:none")
}
