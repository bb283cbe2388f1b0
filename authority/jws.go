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
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
)

// SigningAlgorithm names a JWS algorithm (RFC 7518 §3.1, RFC 8037) that
// signs private_key_jwt client assertions.
type SigningAlgorithm string

// The signing algorithms a [Config.Signer] may use.
const (
	RS256 SigningAlgorithm = "RS256"
	RS384 SigningAlgorithm = "RS384"
	RS512 SigningAlgorithm = "RS512"
	PS256 SigningAlgorithm = "PS256"
	PS384 SigningAlgorithm = "PS384"
	PS512 SigningAlgorithm = "PS512"
	ES256 SigningAlgorithm = "ES256"
	ES384 SigningAlgorithm = "ES384"
	ES512 SigningAlgorithm = "ES512"
	EdDSA SigningAlgorithm = "EdDSA"
)

// minRSABits is the smallest RSA key accepted for private_key_jwt.
const minRSABits = 2048

// thumbprint is the x5t#S256 of cert (RFC 7515 §4.1.8): base64url of the
// SHA-256 of its DER.
func thumbprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// jwsKey signs compact JWS with a crypto.Signer and the standard library
// only: the key may live in memory, in an HSM or in a cloud KMS.
type jwsKey struct {
	signer crypto.Signer
	alg    SigningAlgorithm
	hash   crypto.Hash // zero for EdDSA, which signs the message itself
	pss    bool
	ecSize int    // bytes of each of r and s for ES*; 0 otherwise
	header string // the encoded protected header, the same for every JWS
}

// newJWSKey checks that signer can sign with alg (or the algorithm implied
// by its key when alg is empty) and prepares the header: "alg", "typ",
// "kid" when set and "x5t#S256" when cert is set (cert's public key must be
// signer's). It makes one probe signature and verifies it, so that a key
// that can never sign is refused here rather than at the first request.
func newJWSKey(signer crypto.Signer, alg SigningAlgorithm, kid string, cert *x509.Certificate) (*jwsKey, error) {
	if signer == nil {
		return nil, errors.New("no signer")
	}
	k := &jwsKey{signer: signer}
	pub := signer.Public()
	switch pk := pub.(type) {
	case *rsa.PublicKey:
		if bits := pk.N.BitLen(); bits < minRSABits {
			return nil, fmt.Errorf("a %d-bit RSA key; at least %d bits are required", bits, minRSABits)
		}
		switch alg {
		case "", RS256:
			k.alg, k.hash = RS256, crypto.SHA256
		case RS384:
			k.alg, k.hash = alg, crypto.SHA384
		case RS512:
			k.alg, k.hash = alg, crypto.SHA512
		case PS256:
			k.alg, k.hash, k.pss = alg, crypto.SHA256, true
		case PS384:
			k.alg, k.hash, k.pss = alg, crypto.SHA384, true
		case PS512:
			k.alg, k.hash, k.pss = alg, crypto.SHA512, true
		default:
			return nil, fmt.Errorf("algorithm %q does not suit an RSA key", alg)
		}
	case *ecdsa.PublicKey:
		var implied SigningAlgorithm
		switch pk.Curve {
		case elliptic.P256():
			implied, k.hash, k.ecSize = ES256, crypto.SHA256, 32
		case elliptic.P384():
			implied, k.hash, k.ecSize = ES384, crypto.SHA384, 48
		case elliptic.P521():
			implied, k.hash, k.ecSize = ES512, crypto.SHA512, 66
		default:
			return nil, errors.New("an EC key must be on P-256, P-384 or P-521")
		}
		if alg != "" && alg != implied {
			return nil, fmt.Errorf("algorithm %q does not suit an EC key on %s", alg, pk.Curve.Params().Name)
		}
		k.alg = implied
	case ed25519.PublicKey:
		if alg != "" && alg != EdDSA {
			return nil, fmt.Errorf("algorithm %q does not suit an Ed25519 key", alg)
		}
		k.alg = EdDSA
	default:
		return nil, fmt.Errorf("a %T key; RSA, EC P-256/P-384/P-521 or Ed25519 is required", pub)
	}

	header := map[string]string{"alg": string(k.alg), "typ": "JWT"}
	if kid != "" {
		header["kid"] = kid
	}
	if cert != nil {
		eq, ok := pub.(interface{ Equal(crypto.PublicKey) bool })
		if !ok || !eq.Equal(cert.PublicKey) {
			return nil, errors.New("the certificate's public key is not the signer's")
		}
		header["x5t#S256"] = thumbprint(cert)
	}
	h, err := json.Marshal(header)
	if err != nil {
		return nil, err
	}
	k.header = base64.RawURLEncoding.EncodeToString(h)

	if err := k.probe(); err != nil {
		return nil, err
	}
	return k, nil
}

// sign returns the compact JWS of claims (RFC 7515 §7.1).
func (k *jwsKey) sign(claims any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	input := k.header + "." + base64.RawURLEncoding.EncodeToString(payload)
	sig, err := k.signature([]byte(input))
	if err != nil {
		return "", err
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// signature signs the JWS signing input as alg requires.
func (k *jwsKey) signature(input []byte) ([]byte, error) {
	if k.alg == EdDSA {
		return k.signer.Sign(rand.Reader, input, crypto.Hash(0))
	}
	h := k.hash.New()
	h.Write(input)
	digest := h.Sum(nil)
	var opts crypto.SignerOpts = k.hash
	if k.pss {
		opts = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: k.hash}
	}
	sig, err := k.signer.Sign(rand.Reader, digest, opts)
	if err != nil {
		return nil, err
	}
	if k.ecSize == 0 {
		return sig, nil
	}
	// A crypto.Signer returns ECDSA signatures ASN.1-encoded; JWS wants
	// r and s as fixed-size big-endian integers (RFC 7518 §3.4).
	var rs struct{ R, S *big.Int }
	if rest, err := asn1.Unmarshal(sig, &rs); err != nil || len(rest) > 0 || rs.R == nil || rs.S == nil {
		return nil, errors.New("the signer returned a malformed ECDSA signature")
	}
	if rs.R.Sign() <= 0 || rs.S.Sign() <= 0 || rs.R.BitLen() > 8*k.ecSize || rs.S.BitLen() > 8*k.ecSize {
		return nil, errors.New("the signer returned an out-of-range ECDSA signature")
	}
	out := make([]byte, 2*k.ecSize)
	rs.R.FillBytes(out[:k.ecSize])
	rs.S.FillBytes(out[k.ecSize:])
	return out, nil
}

// probe signs a fixed input and verifies the signature with the public key.
func (k *jwsKey) probe() error {
	input := []byte("tokenexchange probe")
	sig, err := k.signature(input)
	if err != nil {
		return fmt.Errorf("the key cannot sign: %w", err)
	}
	ok := false
	switch pk := k.signer.Public().(type) {
	case *rsa.PublicKey:
		h := k.hash.New()
		h.Write(input)
		if k.pss {
			ok = rsa.VerifyPSS(pk, k.hash, h.Sum(nil), sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: k.hash}) == nil
		} else {
			ok = rsa.VerifyPKCS1v15(pk, k.hash, h.Sum(nil), sig) == nil
		}
	case *ecdsa.PublicKey:
		h := k.hash.New()
		h.Write(input)
		r := new(big.Int).SetBytes(sig[:k.ecSize])
		s := new(big.Int).SetBytes(sig[k.ecSize:])
		ok = ecdsa.Verify(pk, h.Sum(nil), r, s)
	case ed25519.PublicKey:
		ok = ed25519.Verify(pk, input, sig)
	}
	if !ok {
		return errors.New("the key's signature does not verify with its public key")
	}
	return nil
}
