package testutil

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"fmt"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// signingKey is one key pair of the authority. Never mutated once built.
type signingKey struct {
	kid  string
	alg  jwa.SignatureAlgorithm
	priv jwk.Key
	pub  jwk.Key
	raw  crypto.PublicKey // pub as *rsa.PublicKey or *ecdsa.PublicKey
}

func newSigningKey(alg Algorithm) (*signingKey, error) {
	var raw crypto.Signer
	var err error
	switch alg {
	case RS256:
		raw, err = rsa.GenerateKey(rand.Reader, 2048)
	case ES256:
		raw, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return nil, fmt.Errorf("testutil: unsupported algorithm %q (want RS256 or ES256)", alg)
	}
	if err != nil {
		return nil, fmt.Errorf("testutil: generate key: %w", err)
	}
	priv, err := jwk.FromRaw(raw)
	if err != nil {
		return nil, fmt.Errorf("testutil: wrap key: %w", err)
	}
	kid := randomID(8)
	jwsAlg := jwa.SignatureAlgorithm(alg)
	for _, kv := range [][2]any{{jwk.KeyIDKey, kid}, {jwk.AlgorithmKey, jwsAlg}, {jwk.KeyUsageKey, "sig"}} {
		if err := priv.Set(kv[0].(string), kv[1]); err != nil {
			return nil, fmt.Errorf("testutil: set %v: %w", kv[0], err)
		}
	}
	pub, err := jwk.PublicKeyOf(priv)
	if err != nil {
		return nil, fmt.Errorf("testutil: public key: %w", err)
	}
	return &signingKey{kid: kid, alg: jwsAlg, priv: priv, pub: pub, raw: raw.Public()}, nil
}

// RotateKey generates a new signing key with a new kid and makes it the
// active one. Older keys stay in the JWKS (and keep verifying) until
// [Authority.RemoveKey]. It returns the new kid and panics if key
// generation fails.
func (a *Authority) RotateKey() string {
	k, err := newSigningKey(a.opts.Algorithm)
	if err != nil {
		panic(err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.keys = append(a.keys, k)
	a.active = k
	a.rebuildPublicSetLocked()
	return k.kid
}

// RemoveKey drops the key with this kid from the JWKS; tokens it signed no
// longer verify, here or at a [ResourceServer]. Removing the active key
// does not stop the authority signing with it: new tokens then carry a kid
// that no published key matches, until the next [Authority.RotateKey].
func (a *Authority) RemoveKey(kid string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	keep := a.keys[:0:0]
	for _, k := range a.keys {
		if k.kid != kid {
			keep = append(keep, k)
		}
	}
	a.keys = keep
	a.rebuildPublicSetLocked()
}

// ActiveKeyID returns the kid of the key that signs new tokens.
func (a *Authority) ActiveKeyID() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.active.kid
}

// PublishedKey is one key of the authority's JWKS.
type PublishedKey struct {
	// KeyID is the key's "kid", named in the header of the tokens it signs.
	KeyID string
	// Algorithm is the key's "alg".
	Algorithm Algorithm
	// Key is the public key: an *rsa.PublicKey for RS256, an
	// *ecdsa.PublicKey for ES256.
	Key crypto.PublicKey
}

// PublicKeys returns the keys the JWKS publishes, oldest first (the same
// set [Authority.JWKSURL] serves as JSON). The slice is the caller's.
func (a *Authority) PublicKeys() []PublishedKey {
	var out []PublishedKey
	for _, k := range a.publishedKeys() {
		out = append(out, PublishedKey{KeyID: k.kid, Algorithm: Algorithm(k.alg), Key: k.raw})
	}
	return out
}

func (a *Authority) publishedKeys() []*signingKey {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]*signingKey(nil), a.keys...)
}

// rebuildPublicSetLocked replaces (never mutates) the verification set.
// Callers hold a.mu.
func (a *Authority) rebuildPublicSetLocked() {
	set := jwk.NewSet()
	for _, k := range a.keys {
		_ = set.AddKey(k.pub)
	}
	a.pubSet = set
}

// verifySet returns the current verification set; it is never mutated.
func (a *Authority) verifySet() jwk.Set {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.pubSet
}

func (a *Authority) activeKey() *signingKey {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.active
}
