package middleware

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// verifyKey is one usable public key from the key set, converted once.
type verifyKey struct {
	alg jwa.SignatureAlgorithm // the JWK's "alg", empty when it has none
	raw any                    // *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey
}

// keySnapshot is an immutable view of the key set at one fetch.
type keySnapshot struct {
	byKid   map[string][]verifyKey
	all     []verifyKey
	fetched time.Time // when the fetch completed (monotonic)
}

// find returns the key for kid that can verify alg. known reports whether the
// key set has a key with that kid at all. An empty kid matches only when the
// set holds exactly one key usable with alg.
func (s *keySnapshot) find(kid string, alg jwa.SignatureAlgorithm) (raw any, known bool) {
	candidates := s.all
	if kid != "" {
		candidates, known = s.byKid[kid]
	}
	var found any
	n := 0
	for _, k := range candidates {
		if k.usableWith(alg) {
			found = k.raw
			n++
		}
	}
	if kid == "" && n != 1 {
		return nil, false // none or ambiguous: treat as unknown
	}
	return found, known
}

// usableWith reports whether the key may verify a signature made with alg: its
// own alg (if any) must be alg, and its type and curve must be those alg
// requires. This is what keeps a public key from being used as an HMAC secret
// or an RSA key from verifying an ECDSA signature.
func (k verifyKey) usableWith(alg jwa.SignatureAlgorithm) bool {
	if k.alg != "" && k.alg != alg {
		return false
	}
	switch alg {
	case jwa.RS256, jwa.RS384, jwa.RS512, jwa.PS256, jwa.PS384, jwa.PS512:
		_, ok := k.raw.(*rsa.PublicKey)
		return ok
	case jwa.ES256:
		return isCurve(k.raw, elliptic.P256())
	case jwa.ES384:
		return isCurve(k.raw, elliptic.P384())
	case jwa.ES512:
		return isCurve(k.raw, elliptic.P521())
	case jwa.EdDSA:
		_, ok := k.raw.(ed25519.PublicKey)
		return ok
	}
	return false
}

func isCurve(raw any, c elliptic.Curve) bool {
	pk, ok := raw.(*ecdsa.PublicKey)
	return ok && pk.Curve == c
}

// newSnapshot converts a JWK set into usable verification keys. Keys marked for
// encryption, symmetric keys and keys jwx cannot convert are left out: a JWKS
// must never supply an HMAC secret.
func newSnapshot(set jwk.Set) (*keySnapshot, error) {
	s := &keySnapshot{byKid: make(map[string][]verifyKey)}
	for i := 0; i < set.Len(); i++ {
		k, _ := set.Key(i)
		if u := k.KeyUsage(); u != "" && u != string(jwk.ForSignature) {
			continue
		}
		switch k.KeyType() {
		case jwa.RSA, jwa.EC, jwa.OKP:
		default:
			continue
		}
		pub, err := k.PublicKey()
		if err != nil {
			continue
		}
		var raw any
		if err := pub.Raw(&raw); err != nil {
			continue
		}
		vk := verifyKey{raw: raw}
		if a := k.Algorithm(); a != nil && a.String() != "" {
			vk.alg = jwa.SignatureAlgorithm(a.String())
		}
		s.all = append(s.all, vk)
		s.byKid[k.KeyID()] = append(s.byKid[k.KeyID()], vk)
	}
	if len(s.all) == 0 {
		return nil, errors.New("middleware: key set has no usable signing keys")
	}
	s.fetched = time.Now()
	return s, nil
}

// keyCache holds the authorization server's key set. Lookups are lock-free.
// Keys older than refresh are refetched in the background while the old ones
// keep serving; an unknown kid triggers a refetch that the request waits for,
// at most once per minRefetch, and shared by all requests that arrive while it
// runs. A failed fetch keeps the previous keys. Safe for concurrent use.
type keyCache struct {
	url        string
	client     *http.Client
	timeout    time.Duration // bound of one fetch
	refresh    time.Duration // age after which keys are refreshed in the background
	minRefetch time.Duration // least time between two on-demand (or two background) fetches

	keys atomic.Pointer[keySnapshot] // never nil after load

	mu          sync.Mutex // guards the fields below
	lastRefetch time.Time  // start of the latest fetch for an unknown kid
	lastRefresh time.Time  // start of the latest background refresh
	flight      *keyFlight // the running fetch, or nil
}

// keyFlight is one fetch; done is closed when it ends, after err is set.
type keyFlight struct {
	done chan struct{}
	err  error
}

// load fetches the key set synchronously; used once, at construction.
func (c *keyCache) load(ctx context.Context) error {
	return c.fetch(ctx)
}

func (c *keyCache) fetch(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	body, err := getJSON(ctx, c.client, c.url)
	if err != nil {
		return err
	}
	set, err := jwk.Parse(body)
	if err != nil {
		return fmt.Errorf("middleware: key set at %s: %w", redact(c.url), err)
	}
	snap, err := newSnapshot(set)
	if err != nil {
		return fmt.Errorf("%w (%s)", err, redact(c.url))
	}
	c.keys.Store(snap)
	return nil
}

// key returns the raw public key for kid and alg, refetching the key set once
// (within the rate limit) if kid is unknown. It returns when ctx ends.
func (c *keyCache) key(ctx context.Context, kid string, alg jwa.SignatureAlgorithm) (any, *Error) {
	snap := c.keys.Load()
	raw, known := snap.find(kid, alg)
	if raw != nil {
		if time.Since(snap.fetched) >= c.refresh {
			c.start(ctx, true)
		}
		return raw, nil
	}
	if known {
		return nil, tokenError(ErrUnknownKey, "signing key does not match the token's algorithm")
	}
	f := c.start(ctx, false)
	if f == nil {
		return nil, tokenError(ErrUnknownKey, "unknown signing key")
	}
	select {
	case <-f.done:
	case <-ctx.Done():
		return nil, tokenError(fmt.Errorf("%w: %w", ErrKeysUnavailable, ctx.Err()), "signing keys unavailable")
	}
	if raw, known = c.keys.Load().find(kid, alg); raw != nil {
		return raw, nil
	}
	if known {
		return nil, tokenError(ErrUnknownKey, "signing key does not match the token's algorithm")
	}
	if f.err != nil {
		return nil, tokenError(fmt.Errorf("%w: %w", ErrKeysUnavailable, f.err), "signing keys unavailable")
	}
	return nil, tokenError(ErrUnknownKey, "unknown signing key")
}

// start returns the running fetch or starts one. On demand (an unknown kid) it
// starts one only if the last on-demand fetch started at least minRefetch ago;
// in the background (keys older than refresh) only if the keys are still stale
// and the last background fetch started at least minRefetch ago, so a failing
// server is not asked on every request. Otherwise it returns nil. The fetch runs
// on its own timeout, detached from ctx's cancellation, so a caller that goes
// away does not fail it for the others.
func (c *keyCache) start(ctx context.Context, background bool) *keyFlight {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.flight != nil {
		return c.flight
	}
	last := &c.lastRefetch
	if background {
		last = &c.lastRefresh
		if time.Since(c.keys.Load().fetched) < c.refresh {
			return nil // another request's fetch just finished
		}
	}
	if !last.IsZero() && time.Since(*last) < c.minRefetch {
		return nil
	}
	*last = time.Now()
	f := &keyFlight{done: make(chan struct{})}
	c.flight = f
	go func() {
		err := c.fetch(context.WithoutCancel(ctx))
		c.mu.Lock()
		c.flight = nil
		c.mu.Unlock()
		f.err = err
		close(f.done)
	}()
	return f
}
