package gateway

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
)

// jwkMembers are the members of a private JWK (RFC 7517, RFC 7518 §6,
// RFC 8037 §2) that a client key uses. encoding/json matches names
// without regard to case, so "Keys" is a JWK Set's member too.
type jwkMembers struct {
	Keys json.RawMessage `json:"keys"`
	Kty  string          `json:"kty"`
	Kid  string          `json:"kid"`
	Alg  string          `json:"alg"`
	Use  string          `json:"use"`
	Crv  string          `json:"crv"`
	X    string          `json:"x"`
	Y    string          `json:"y"`
	D    string          `json:"d"`
	N    string          `json:"n"`
	E    string          `json:"e"`
	P    string          `json:"p"`
	Q    string          `json:"q"`
	Oth  json.RawMessage `json:"oth"`
}

// ecCurves are the EC curves of a client key: the JWK "crv", the SEC1
// named-curve OID and the size of a coordinate in bytes.
var ecCurves = map[string]struct {
	oid  asn1.ObjectIdentifier
	size int
}{
	"P-256": {asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}, 32},
	"P-384": {asn1.ObjectIdentifier{1, 3, 132, 0, 34}, 48},
	"P-521": {asn1.ObjectIdentifier{1, 3, 132, 0, 35}, 66},
}

// signingAlgs are the JWS algorithms a client key may name as "alg", by
// the key type or EC curve they suit.
var signingAlgs = map[string][]string{
	"RSA":     {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"},
	"P-256":   {"ES256"},
	"P-384":   {"ES384"},
	"P-521":   {"ES512"},
	"Ed25519": {"EdDSA"},
}

// errNotJWK is the answer to a JWK that cannot be read: what is wrong in
// it is not said, since saying it would quote the file.
var errNotJWK = errors.New("not a valid JWK")

// parseJWK parses a single private JWK (RSA, EC or Ed25519) with the
// standard library, checking that its public members are those of its
// private key. Its errors never quote a member's value, except a known
// "crv" or "alg".
func parseJWK(data []byte) (clientKey, error) {
	var m jwkMembers
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&m); err != nil || dec.More() {
		return clientKey{}, errNotJWK
	}
	if m.Keys != nil {
		return clientKey{}, errors.New("a JWK Set: want a single JWK (one key object, not {\"keys\":[...]})")
	}
	if m.Use != "" && m.Use != "sig" {
		return clientKey{}, errors.New(`a key whose "use" is not "sig": want a signing key`)
	}
	var (
		signer crypto.Signer
		kind   string // the key of signingAlgs
		err    error
	)
	switch m.Kty {
	case "oct":
		return clientKey{}, errors.New("a symmetric key: private_key_jwt needs an RSA, EC or Ed25519 private key")
	case "RSA":
		kind = "RSA"
		signer, err = rsaFromJWK(m)
	case "EC":
		if _, ok := ecCurves[m.Crv]; !ok {
			return clientKey{}, errors.New("EC curve: want P-256, P-384 or P-521")
		}
		kind = m.Crv
		signer, err = ecFromJWK(m)
	case "OKP":
		if m.Crv != "Ed25519" {
			return clientKey{}, errors.New("OKP curve: want Ed25519")
		}
		kind = m.Crv
		signer, err = ed25519FromJWK(m)
	default:
		return clientKey{}, errors.New("want an RSA, EC or Ed25519 private key")
	}
	if err != nil {
		return clientKey{}, err
	}
	if m.Alg != "" {
		ok := false
		for _, a := range signingAlgs[kind] {
			ok = ok || a == m.Alg
		}
		if !ok {
			return clientKey{}, fmt.Errorf("the JWK's alg is not a signature algorithm for this key (want one of %v)", signingAlgs[kind])
		}
	}
	return clientKey{signer: signer, kid: m.Kid, alg: m.Alg}, nil
}

// b64 decodes a base64url member (RFC 7515 §2: no padding); want, when
// positive, is its required length in bytes.
func b64(s string, want int) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) == 0 || (want > 0 && len(b) != want) {
		return nil, errNotJWK
	}
	return b, nil
}

var errPublicJWK = errors.New("a public key: want the private key (the authority holds the public one)")

// rsaFromJWK builds an RSA private key from n, e, d, p and q (RFC 7518
// §6.3), recomputing the CRT values, and validates it.
func rsaFromJWK(m jwkMembers) (crypto.Signer, error) {
	if m.D == "" {
		return nil, errPublicJWK
	}
	if m.P == "" || m.Q == "" || m.Oth != nil {
		return nil, errors.New("an RSA JWK without exactly two primes p and q: want a complete private key")
	}
	var ints [5]*big.Int
	for i, s := range []string{m.N, m.E, m.D, m.P, m.Q} {
		b, err := b64(s, 0)
		if err != nil {
			return nil, err
		}
		ints[i] = new(big.Int).SetBytes(b)
	}
	if !ints[1].IsInt64() || ints[1].Int64() > 1<<31-1 {
		return nil, errNotJWK
	}
	key := &rsa.PrivateKey{
		PublicKey: rsa.PublicKey{N: ints[0], E: int(ints[1].Int64())},
		D:         ints[2],
		Primes:    []*big.Int{ints[3], ints[4]},
	}
	if err := key.Validate(); err != nil {
		return nil, errors.New("an RSA JWK whose members do not make a valid key")
	}
	key.Precompute()
	return key, nil
}

// ecFromJWK builds an EC private key through its SEC1 encoding, which the
// standard library checks (d in range), and requires x and y to be d's
// public point.
func ecFromJWK(m jwkMembers) (crypto.Signer, error) {
	if m.D == "" {
		return nil, errPublicJWK
	}
	c := ecCurves[m.Crv]
	d, err := b64(m.D, c.size)
	if err != nil {
		return nil, err
	}
	x, err := b64(m.X, c.size)
	if err != nil {
		return nil, err
	}
	y, err := b64(m.Y, c.size)
	if err != nil {
		return nil, err
	}
	der, err := asn1.Marshal(struct {
		Version    int
		PrivateKey []byte
		Curve      asn1.ObjectIdentifier `asn1:"optional,explicit,tag:0"`
	}{1, d, c.oid})
	if err != nil {
		return nil, errNotJWK
	}
	key, err := x509.ParseECPrivateKey(der)
	if err != nil {
		return nil, errors.New("an EC JWK whose d is not a valid private key")
	}
	pub, err := key.PublicKey.ECDH()
	if err != nil || !bytes.Equal(pub.Bytes(), slices.Concat([]byte{4}, x, y)) {
		return nil, errors.New("an EC JWK whose x and y are not the public point of its d")
	}
	return key, nil
}

// ed25519FromJWK builds an Ed25519 private key from its seed d (RFC 8037
// §2) and requires x to be its public key.
func ed25519FromJWK(m jwkMembers) (crypto.Signer, error) {
	if m.D == "" {
		return nil, errPublicJWK
	}
	seed, err := b64(m.D, ed25519.SeedSize)
	if err != nil {
		return nil, err
	}
	x, err := b64(m.X, ed25519.PublicKeySize)
	if err != nil {
		return nil, err
	}
	key := ed25519.NewKeyFromSeed(seed)
	if !bytes.Equal(key.Public().(ed25519.PublicKey), x) {
		return nil, errors.New("an Ed25519 JWK whose x is not the public key of its d")
	}
	return key, nil
}
