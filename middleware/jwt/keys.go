package jwt

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/go-tokenexchange/tokenexchange/middleware"
)

// verifyKey is one usable public key from the key set, converted once.
type verifyKey struct {
	alg jwa.SignatureAlgorithm // the JWK's "alg", empty when it has none
	raw any                    // *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey
	id  keyID                  // identifies the key across fetches
}

// keyID identifies a key of the set across fetches: the SHA-256 of its
// "kid", its "alg" and its RFC 7638 thumbprint, so a key that comes back
// under another kid or restricted to another alg is another key.
type keyID [sha256.Size]byte

// keySnapshot is an immutable view of the key set at one fetch.
type keySnapshot struct {
	byKid   map[string][]verifyKey
	all     []verifyKey
	ids     map[keyID]struct{} // the id of every key of all
	fetched time.Time          // when the fetch completed (monotonic)
}

// find returns the keys to try for kid and alg: those of the set with that kid
// (the caller tries each key usableWith alg until one verifies, since during a
// rotation a JWKS may legitimately list one kid twice, say for two algorithms),
// and whether any of them is usable. known reports whether the key set has a
// key with that kid at all. An empty kid matches only when the set holds
// exactly one key usable with alg; with several, the token is ambiguous and
// treated as unknown.
func (s *keySnapshot) find(kid string, alg jwa.SignatureAlgorithm) (keys []verifyKey, usable, known bool) {
	candidates := s.all
	if kid != "" {
		candidates, known = s.byKid[kid]
	}
	n := 0
	for _, k := range candidates {
		if k.usableWith(alg) {
			n++
		}
	}
	if n == 0 || (kid == "" && n != 1) {
		return nil, false, known // none, or ambiguous: treat as unknown
	}
	return candidates, true, known
}

// has reports whether the set holds the key with id.
func (s *keySnapshot) has(id keyID) bool {
	_, ok := s.ids[id]
	return ok
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

// supportedAlg reports whether usableWith can ever match a key for alg; it
// must list exactly the algorithms usableWith handles.
func supportedAlg(alg jwa.SignatureAlgorithm) bool {
	switch alg {
	case jwa.RS256, jwa.RS384, jwa.RS512, jwa.PS256, jwa.PS384, jwa.PS512,
		jwa.ES256, jwa.ES384, jwa.ES512, jwa.EdDSA:
		return true
	}
	return false
}

// newKeyID is the keyID of a key with kid, alg and thumbprint thumb
// (length-prefixed, so that no two triples give the same input).
func newKeyID(kid string, alg jwa.SignatureAlgorithm, thumb []byte) keyID {
	h := sha256.New()
	for _, f := range [][]byte{[]byte(kid), []byte(alg), thumb} {
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(f))))
		h.Write(f)
	}
	var id keyID
	h.Sum(id[:0])
	return id
}

func isCurve(raw any, c elliptic.Curve) bool {
	pk, ok := raw.(*ecdsa.PublicKey)
	return ok && pk.Curve == c
}

// newSnapshot converts a JWK set into usable verification keys. Keys marked for
// encryption, symmetric keys and keys jwx cannot convert are left out: a JWKS
// must never supply an HMAC secret.
func newSnapshot(set jwk.Set) (*keySnapshot, error) {
	s := &keySnapshot{byKid: make(map[string][]verifyKey), ids: make(map[keyID]struct{})}
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
		thumb, err := pub.Thumbprint(crypto.SHA256)
		if err != nil {
			continue
		}
		vk := verifyKey{raw: raw}
		if a := k.Algorithm(); a != nil && a.String() != "" {
			vk.alg = jwa.SignatureAlgorithm(a.String())
		}
		vk.id = newKeyID(k.KeyID(), vk.alg, thumb)
		s.ids[vk.id] = struct{}{}
		s.all = append(s.all, vk)
		s.byKid[k.KeyID()] = append(s.byKid[k.KeyID()], vk)
	}
	if len(s.all) == 0 {
		return nil, errors.New("jwt: key set has no usable signing keys")
	}
	s.fetched = time.Now()
	return s, nil
}

// keyCache holds the authorization server's key set. Lookups are lock-free.
// After close no fetch starts: the keys held keep serving.
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
	epoch      time.Time     // base of the monotonic clock readings below

	keys atomic.Pointer[keySnapshot] // never nil after load

	// nextRefresh and nextRefetch are the earliest times, as c.since() values,
	// at which a background refresh or an on-demand refetch may start. The
	// request path reads them without the lock, so stale keys in front of a
	// failing server cost an atomic load, not a mutex. Written under mu.
	nextRefresh atomic.Int64
	nextRefetch atomic.Int64

	mu     sync.Mutex                // serializes starting and ending fetches
	flight atomic.Pointer[keyFlight] // the running fetch, or nil; written under mu

	// failed reports whether the last fetch that ended (on demand or in the
	// background) failed: an unknown kid refused while a refetch is rate
	// limited is then answered as unavailable, not as unknown. Written
	// under mu.
	failed atomic.Bool

	// base is the parent context of every fetch started by a request: it
	// carries no value and is canceled by close, ending the fetch.
	base   context.Context
	cancel context.CancelFunc
	closed bool           // set by close under mu: no fetch starts
	fetchs sync.WaitGroup // running fetches; Add under mu while !closed

	// stored, if set, is called with each key set a fetch stores, after
	// storing it (the verified-token cache drops the entries of keys it
	// no longer holds).
	stored func(*keySnapshot)

	tel      *telemetry
	failures int                 // fetches failed since the last success; under mu
	gauge    metric.Registration // the callback of tokenexchange.jwks.keys, or nil
}

// errLastFetchFailed is the cause of an unavailable answer given while a
// refetch is rate limited after a failed one.
var errLastFetchFailed = errors.New("jwt: the last key set fetch failed")

// keyFlight is one fetch; done is closed when it ends, after err is set
// and span has ended.
type keyFlight struct {
	done chan struct{}
	err  error
	span trace.Span // the fetch's span; requests that wait for it link to it
}

// since returns the monotonic time since c.epoch.
func (c *keyCache) since() int64 { return int64(time.Since(c.epoch)) }

// load fetches the key set synchronously, under a span that is a child of
// ctx's; used once, at construction. It registers the callback of the
// keys gauge, which close unregisters.
func (c *keyCache) load(ctx context.Context) error {
	c.epoch = time.Now()
	c.base, c.cancel = context.WithCancel(context.Background())
	c.tel.setServer(c.url)
	reg, err := c.tel.meter.RegisterCallback(c.observeKeys, c.tel.keysGauge)
	if err != nil {
		otel.Handle(err)
	} else {
		c.gauge = reg
	}
	ctx, span := c.tel.startFetch(ctx, triggerStartup, trace.Link{})
	res := c.fetch(ctx)
	c.tel.endFetch(ctx, span, triggerStartup, res)
	return res.err
}

// observeKeys reports the number of usable keys held.
func (c *keyCache) observeKeys(_ context.Context, o metric.Observer) error {
	if snap := c.keys.Load(); snap != nil {
		o.ObserveInt64(c.tel.keysGauge, int64(len(snap.all)))
	}
	return nil
}

// close cancels the running fetch, waits for it, and keeps any other from
// starting. The keys held keep serving.
func (c *keyCache) close() {
	c.mu.Lock()
	wasClosed := c.closed
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.fetchs.Wait()
	if !wasClosed && c.gauge != nil {
		if err := c.gauge.Unregister(); err != nil {
			otel.Handle(err)
		}
	}
}

// isClosed reports whether close was called.
func (c *keyCache) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// fetch fetches the key set on ctx, which carries the fetch's span, and
// stores it; it reports what happened.
func (c *keyCache) fetch(ctx context.Context) *fetchResult {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	res := &fetchResult{}
	var body []byte
	body, res.status, res.err = getJSON(ctx, c.client, c.tel.prop, c.url)
	if res.err != nil {
		res.failure = failureOf(ctx, res.status, res.err)
		if res.status == http.StatusOK && res.failure == failStatus {
			res.failure = failBody
		}
		return res
	}
	set, err := jwk.Parse(body)
	if err != nil {
		res.err, res.failure = fmt.Errorf("jwt: key set at %s: %w", redact(c.url), err), failMalformed
		return res
	}
	snap, err := newSnapshot(set)
	if err != nil {
		res.err, res.failure = fmt.Errorf("%w (%s)", err, redact(c.url)), failNoUsableKeys
		return res
	}
	c.keys.Store(snap)
	if c.stored != nil {
		c.stored(snap)
	}
	res.keys = len(snap.all)
	return res
}

// key returns the keys to try for kid and alg (at least one of them usable
// with alg), refetching the key set once (within the rate limit) if kid is
// unknown. It returns when ctx ends.
func (c *keyCache) key(ctx context.Context, kid string, alg jwa.SignatureAlgorithm) ([]verifyKey, *middleware.Error) {
	snap := c.keys.Load()
	keys, usable, known := snap.find(kid, alg)
	if usable {
		c.refreshIfStale(ctx, snap)
		return keys, nil
	}
	if known {
		return nil, tokenError(middleware.ErrUnknownKey, "signing key does not match the token's algorithm")
	}
	f := c.start(ctx, triggerUnknownKid)
	if f == nil {
		// Rate limited. A fetch may have ended since snap was loaded.
		if keys, usable, known = c.keys.Load().find(kid, alg); usable {
			return keys, nil
		}
		if known {
			return nil, tokenError(middleware.ErrUnknownKey, "signing key does not match the token's algorithm")
		}
		if c.failed.Load() && c.base.Err() == nil {
			// The key may well exist: the server could not be asked.
			return nil, unavailableError(errLastFetchFailed, c.untilRefetch())
		}
		return nil, tokenError(middleware.ErrUnknownKey, "unknown signing key")
	}
	select {
	case <-f.done:
	case <-ctx.Done():
		return nil, unavailableError(ctx.Err(), 0) // the fetch goes on: no delay known
	}
	if keys, usable, known = c.keys.Load().find(kid, alg); usable {
		return keys, nil
	}
	if known {
		return nil, tokenError(middleware.ErrUnknownKey, "signing key does not match the token's algorithm")
	}
	if f.err != nil {
		return nil, unavailableError(f.err, c.untilRefetch())
	}
	return nil, tokenError(middleware.ErrUnknownKey, "unknown signing key")
}

// current returns the key set held, starting a background refresh if it
// is stale, as a token verified with it would: a validator whose tokens
// all come from the verified-token cache still follows rotations.
func (c *keyCache) current(ctx context.Context) *keySnapshot {
	snap := c.keys.Load()
	c.refreshIfStale(ctx, snap)
	return snap
}

// refreshIfStale starts a background refresh when snap is older than
// c.refresh and the rate limit allows one.
func (c *keyCache) refreshIfStale(ctx context.Context, snap *keySnapshot) {
	if time.Since(snap.fetched) >= c.refresh && c.since() >= c.nextRefresh.Load() {
		c.start(ctx, triggerBackground)
	}
}

// untilRefetch returns how long until an on-demand refetch may start again
// (the Retry-After of a failed one), or 0 if it may start now.
func (c *keyCache) untilRefetch() time.Duration {
	return max(time.Duration(c.nextRefetch.Load()-c.since()), 0)
}

// start returns the running fetch or starts one, for why: triggerBackground
// or triggerUnknownKid. On demand (an unknown kid) it
// starts one only if the last on-demand fetch started at least minRefetch ago;
// in the background (keys older than refresh) only if the keys are still stale
// and the last background fetch started at least minRefetch ago, so a failing
// server is not asked on every request. Otherwise it returns nil; a rate-limited
// on-demand request that arrives while no fetch runs does not take the lock.
//
// The fetch runs on a context of its own (canceled only by close) with its
// own timeout, not on the context of the request that happened to start it: the request may go away
// without failing the fetch for the others, and nothing the request carries
// (its token, stored by NewContext, trace spans, deadlines) reaches the key
// set request. Its span is a new root: a background one has no link; an
// on-demand one is linked to the span of ctx, as is every fetch an
// on-demand request waits for (each waiting request adds its link).
func (c *keyCache) start(ctx context.Context, why trigger) *keyFlight {
	background := why == triggerBackground
	next := &c.nextRefetch
	if background {
		next = &c.nextRefresh
	}
	if c.since() < next.Load() && (background || c.flight.Load() == nil) {
		return nil
	}
	var link trace.Link
	if !background {
		link = trace.LinkFromContext(ctx)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if f := c.flight.Load(); f != nil {
		if link.SpanContext.IsValid() {
			f.span.AddLink(link)
		}
		return f
	}
	if c.closed {
		return nil
	}
	if background && time.Since(c.keys.Load().fetched) < c.refresh {
		return nil // another request's fetch just finished
	}
	now := c.since()
	if now < next.Load() {
		return nil
	}
	// The flight is published before the rate limit moves: a request that
	// reads the new limit without the lock (above) then also sees the
	// flight and waits for it, instead of being refused as rate limited
	// while the keys it needs are on their way.
	fctx, span := c.tel.startFetch(c.base, why, link)
	f := &keyFlight{done: make(chan struct{}), span: span}
	c.flight.Store(f)
	next.Store(now + int64(c.minRefetch))
	c.fetchs.Add(1)
	go func() {
		defer c.fetchs.Done()
		res := c.fetch(fctx)
		c.mu.Lock()
		c.flight.Store(nil)
		c.failed.Store(res.err != nil)
		failures := c.failures
		if res.err == nil {
			c.failures = 0
		} else if res.failure != failCanceled {
			c.failures++
		}
		c.mu.Unlock()
		// The log record and the metric precede the span's end, which
		// precedes done: whoever sees one of them sees what came before.
		c.tel.logFetch(why, res, failures, c.minRefetch)
		c.tel.endFetch(fctx, span, why, res)
		f.err = res.err
		close(f.done)
	}()
	return f
}
