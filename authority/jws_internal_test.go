package authority

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/go-tokenexchange/tokenexchange/testutil"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// opaqueSigner hides the concrete key behind crypto.Signer, as an HSM or a
// cloud KMS client does.
type opaqueSigner struct{ inner crypto.Signer }

func (s opaqueSigner) Public() crypto.PublicKey { return s.inner.Public() }
func (s opaqueSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return s.inner.Sign(r, digest, opts)
}

// failingSigner cannot sign at all.
type failingSigner struct{ pub crypto.PublicKey }

func (s failingSigner) Public() crypto.PublicKey { return s.pub }
func (failingSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("hsm offline")
}

// wrongKeySigner signs with another key than the one it advertises.
type wrongKeySigner struct {
	pub   crypto.PublicKey
	other crypto.Signer
}

func (s wrongKeySigner) Public() crypto.PublicKey { return s.pub }
func (s wrongKeySigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return s.other.Sign(r, digest, opts)
}

func mustRSA(t *testing.T, bits int) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	require.NoError(t, err)
	return k
}

func mustEC(t *testing.T, c elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	require.NoError(t, err)
	return k
}

func selfSigned(t *testing.T, key crypto.Signer) *x509.Certificate {
	t.Helper()
	cert, err := testutil.SelfSignedCertificate(key, "gateway")
	require.NoError(t, err)
	return cert
}

// TestJWSKeySignsWhatJWXVerifies signs with every algorithm and verifies the
// result with an independent implementation (jwx, in the test only).
func TestJWSKeySignsWhatJWXVerifies(t *testing.T) {
	rsaKey := mustRSA(t, 2048)
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	tests := []struct {
		name   string
		signer crypto.Signer
		alg    SigningAlgorithm
		want   SigningAlgorithm
	}{
		{"rsa default", rsaKey, "", RS256},
		{"rs384", rsaKey, RS384, RS384},
		{"rs512", rsaKey, RS512, RS512},
		{"ps256", rsaKey, PS256, PS256},
		{"ps384", rsaKey, PS384, PS384},
		{"ps512", rsaKey, PS512, PS512},
		{"p256", mustEC(t, elliptic.P256()), "", ES256},
		{"p384", mustEC(t, elliptic.P384()), ES384, ES384},
		{"p521", mustEC(t, elliptic.P521()), "", ES512},
		{"ed25519", edKey, "", EdDSA},
		{"opaque rsa", opaqueSigner{rsaKey}, "", RS256},
		{"opaque ec", opaqueSigner{mustEC(t, elliptic.P256())}, "", ES256},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := newJWSKey(tt.signer, tt.alg, "key-1", nil)
			require.NoError(t, err)
			assert.Equal(t, tt.want, k.alg)
			claims := map[string]any{"iss": "gateway", "aud": "https://as.example/token", "exp": 1700000000}
			compact, err := k.sign(claims)
			require.NoError(t, err)

			pub, err := jwk.FromRaw(tt.signer.Public())
			require.NoError(t, err)
			payload, err := jws.Verify([]byte(compact), jws.WithKey(jwa.SignatureAlgorithm(tt.want), pub))
			require.NoError(t, err)
			var got map[string]any
			require.NoError(t, json.Unmarshal(payload, &got))
			assert.Equal(t, "gateway", got["iss"])

			msg, err := jws.Parse([]byte(compact))
			require.NoError(t, err)
			h := msg.Signatures()[0].ProtectedHeaders()
			assert.Equal(t, "key-1", h.KeyID())
			assert.Equal(t, "JWT", h.Type())
		})
	}
}

// TestJWSKeyCertificateThumbprint checks the x5t#S256 header that Entra ID
// requires: base64url of the SHA-256 of the certificate's DER.
func TestJWSKeyCertificateThumbprint(t *testing.T) {
	key := mustEC(t, elliptic.P256())
	cert := selfSigned(t, key)
	k, err := newJWSKey(key, "", "", cert)
	require.NoError(t, err)
	compact, err := k.sign(map[string]string{"iss": "gateway"})
	require.NoError(t, err)
	raw, err := base64.RawURLEncoding.DecodeString(strings.SplitN(compact, ".", 2)[0])
	require.NoError(t, err)
	var header map[string]string
	require.NoError(t, json.Unmarshal(raw, &header))
	sum := sha256.Sum256(cert.Raw)
	assert.Equal(t, base64.RawURLEncoding.EncodeToString(sum[:]), header["x5t#S256"])
	assert.NotContains(t, header, "kid")
}

func TestJWSKeyRefusesUnusableKeys(t *testing.T) {
	rsaKey := mustRSA(t, 2048)
	ecKey := mustEC(t, elliptic.P256())
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	tests := []struct {
		name   string
		signer crypto.Signer
		alg    SigningAlgorithm
		cert   *x509.Certificate
		want   string
	}{
		{"nil", nil, "", nil, "no signer"},
		{"small rsa", mustRSA(t, 1024), "", nil, "1024-bit RSA key"},
		{"ec alg on rsa", rsaKey, ES256, nil, "does not suit an RSA key"},
		{"hmac alg on rsa", rsaKey, "HS256", nil, "does not suit an RSA key"},
		{"none alg", rsaKey, "none", nil, "does not suit"},
		{"curve mismatch", ecKey, ES384, nil, "does not suit an EC key on P-256"},
		{"p224", mustEC(t, elliptic.P224()), "", nil, "P-256, P-384 or P-521"},
		{"rsa alg on ed25519", edKey, RS256, nil, "does not suit an Ed25519 key"},
		{"another key's certificate", rsaKey, "", selfSigned(t, ecKey), "not the signer's"},
		{"signer fails", failingSigner{pub: rsaKey.Public()}, "", nil, "cannot sign: hsm offline"},
		{"signs with another key", wrongKeySigner{pub: rsaKey.Public(), other: mustRSA(t, 2048)}, "", nil, "does not verify"},
		{"ec signs with another key", wrongKeySigner{pub: ecKey.Public(), other: mustEC(t, elliptic.P256())}, "", nil, "does not verify"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newJWSKey(tt.signer, tt.alg, "", tt.cert)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}
