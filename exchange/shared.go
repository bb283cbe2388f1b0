package exchange

import (
	"context"
	"crypto/sha256"
	"errors"
	"time"

	"github.com/go-tokenexchange/tokenexchange/authority"
)

// DefaultSharedWait is how long a flight that lost the fleet-wide lock of
// its key waits for the value another replica is exchanging.
const DefaultSharedWait = 3 * time.Second

// Coordinator is an optional interface of the shared [Cache]
// ([Options.Shared]): what Get, Set and Delete cannot express for a fleet
// of replicas sharing it. The Exchanger calls it only inside the flight of
// a key (after a miss in both tiers), in a background refresh, and on
// invalidation; never on a request's hit path, and no Get ever blocks on
// one of its locks. Package exchange/rediscache implements it on Redis.
//
// Every error is taken for "not taken" or "not found": the Exchanger then
// behaves as a replica alone (it exchanges itself) and counts the error
// ([Stats.SharedErrors]); a Coordinator never fails a request.
type Coordinator interface {
	// TryLock tries to take the fleet-wide lock of key for at most ttl,
	// without waiting. ok reports whether it took it; then unlock releases
	// it, and only it: a lock that expired and was taken by another
	// replica meanwhile stays (a fencing value, compared and deleted
	// atomically). unlock is nil when ok is false.
	TryLock(ctx context.Context, key Key, ttl time.Duration) (unlock func(context.Context), ok bool, err error)
	// Wait returns the entry stored for key as soon as one appears, or an
	// error when ctx ends first (or the store fails). It returns only an
	// entry the shared Cache's Get would return.
	Wait(ctx context.Context, key Key) (*Entry, error)
	// Publish tells every replica that the token with fingerprint fp is
	// refused for key (the zero Fingerprint: whatever token is cached).
	Publish(ctx context.Context, key Key, fp Fingerprint) error
	// Subscribe calls f, from one goroutine of the Coordinator's, for every
	// invalidation any replica publishes (its own included) until stop is
	// called; stop returns once f is no longer called. Invalidations
	// published while the subscription is down (the store unreachable)
	// may be lost: the shared tier no longer holds the refused entry, and
	// the in-process one expires it.
	Subscribe(f func(key Key, fp Fingerprint)) (stop func(), err error)
}

// Fingerprint names an issued token without holding it: the first 16
// bytes of the SHA-256 of its access token. It is what an invalidation
// carries between replicas, so that a replica already holding a newer
// token keeps it. The zero Fingerprint stands for any token.
type Fingerprint [16]byte

// FingerprintOf returns the fingerprint of t's access token; the zero
// Fingerprint for a nil t.
func FingerprintOf(t *authority.Token) Fingerprint {
	var fp Fingerprint
	if t == nil {
		return fp
	}
	sum := sha256.Sum256([]byte(t.AccessToken))
	copy(fp[:], sum[:])
	return fp
}

// matches reports whether fp names e's token (the zero fp names any).
func (fp Fingerprint) matches(e *Entry) bool {
	return fp == Fingerprint{} || (e.Token != nil && FingerprintOf(e.Token) == fp)
}

// flightResult is what a flight or a refresh hands its callers: the token,
// and whether it came from the shared tier.
type flightResult struct {
	tok    *authority.Token
	shared bool
}

// sharedLookup returns the valid entry the shared tier holds for key, or
// nil. Its context is detached (the store has its own short deadline). A
// failure is counted and taken for a miss.
func (x *Exchanger) sharedLookup(key Key) *Entry {
	ctx, cancel := x.detached()
	defer cancel()
	e, err := x.shared.Get(ctx, key)
	if err != nil {
		if !errors.Is(err, ErrCacheMiss) {
			x.stats.sharedErrors.Add(1)
		}
		return nil
	}
	if e == nil || e.Token == nil {
		x.stats.sharedErrors.Add(1)
		return nil
	}
	if !x.opts.Now().Before(e.Expires) {
		return nil
	}
	return e
}

// adopt stores e, found in the shared tier, in the first tier for no
// longer than it lives, and reports whether it did.
func (x *Exchanger) adopt(key Key, e *Entry) bool {
	ttl := e.Expires.Sub(x.opts.Now())
	if ttl <= 0 {
		return false
	}
	ctx, cancel := x.detached()
	defer cancel()
	return x.store(ctx, key, e, ttl)
}

// storeShared stores e in the shared tier for ttl; a failure is counted.
func (x *Exchanger) storeShared(key Key, e *Entry, ttl time.Duration) {
	ctx, cancel := x.detached()
	defer cancel()
	if err := x.shared.Set(ctx, key, e, ttl); err != nil {
		x.stats.sharedErrors.Add(1)
	}
}

// lockShared tries to take the fleet-wide lock of key. It returns the
// unlock function when it took it; lost reports that another replica
// holds it. An error is counted and reported as neither taken nor lost.
func (x *Exchanger) lockShared(key Key) (unlock func(), lost bool) {
	ctx, cancel := x.detached()
	defer cancel()
	release, ok, err := x.coord.TryLock(ctx, key, x.lockTTL())
	switch {
	case err != nil:
		x.stats.lockErrors.Add(1)
		x.stats.sharedErrors.Add(1)
		return nil, false
	case !ok || release == nil:
		x.stats.locksLost.Add(1)
		return nil, true
	}
	x.stats.locksWon.Add(1)
	return func() {
		ctx, cancel := x.detached()
		defer cancel()
		release(ctx)
	}, false
}

// lockTTL bounds the fleet-wide lock of a key: the wait for a slot and
// the exchange, each FlightTimeout at most. A replica that dies holding it
// delays the others by SharedWait at most (then they exchange themselves).
func (x *Exchanger) lockTTL() time.Duration { return 2 * x.opts.FlightTimeout }

// waitShared waits up to SharedWait, or until every caller of cs has left,
// for the entry another replica is exchanging for key.
func (x *Exchanger) waitShared(key Key, cs *callers) *Entry {
	ctx, cancel := context.WithTimeout(x.life.base, x.opts.SharedWait)
	defer cancel()
	if cs != nil {
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			select {
			case <-cs.abandoned:
				cancel()
			case <-stop:
			}
		}()
	}
	e, err := x.coord.Wait(ctx, key)
	if err != nil || e == nil || e.Token == nil || !x.opts.Now().Before(e.Expires) {
		if err != nil && ctx.Err() == nil {
			x.stats.sharedErrors.Add(1)
		}
		x.stats.waitsTimedOut.Add(1)
		return nil
	}
	x.stats.waitsFound.Add(1)
	return e
}

// invalidateShared removes the shared entry for key when it holds the
// refused token (any, for a nil refused), and tells every replica. It
// reports whether it removed an entry.
func (x *Exchanger) invalidateShared(ctx context.Context, key Key, refused *authority.Token) bool {
	removed := x.sharedCompareAndDelete(ctx, key, holds(refused))
	if x.coord != nil {
		if err := x.coord.Publish(ctx, key, FingerprintOf(refused)); err != nil {
			x.stats.sharedErrors.Add(1)
		} else {
			x.stats.invalidationsPublished.Add(1)
		}
	}
	return removed
}

// sharedCompareAndDelete is compareAndDelete on the shared tier.
func (x *Exchanger) sharedCompareAndDelete(ctx context.Context, key Key, match func(*Entry) bool) bool {
	if cd, ok := x.shared.(CompareAndDeleter); ok {
		removed, err := cd.CompareAndDelete(ctx, key, match)
		if err != nil {
			x.stats.sharedErrors.Add(1)
		}
		return removed && err == nil
	}
	e, err := x.shared.Get(ctx, key)
	switch {
	case err != nil:
		if !errors.Is(err, ErrCacheMiss) {
			x.stats.sharedErrors.Add(1)
		}
		return false
	case e == nil || e.Token == nil || !match(e):
		return false
	}
	if err := x.shared.Delete(ctx, key); err != nil {
		x.stats.sharedErrors.Add(1)
		return false
	}
	return true
}

// applyInvalidation is the subscription's handler: it removes the first
// tier's entry for key if it holds the token fp names, so that a replica
// already holding a newer token keeps it.
func (x *Exchanger) applyInvalidation(key Key, fp Fingerprint) {
	x.stats.invalidationsReceived.Add(1)
	ctx, cancel := x.detached()
	defer cancel()
	if x.compareAndDelete(ctx, key, fp.matches) {
		x.stats.invalidationsApplied.Add(1)
	}
}

// subscribe starts receiving the fleet's invalidations when the shared
// tier is a Coordinator. A failure is counted: the replica then only
// misses the invalidations of the others.
func (x *Exchanger) subscribe() {
	if x.coord == nil {
		return
	}
	stop, err := x.coord.Subscribe(x.applyInvalidation)
	if err != nil {
		x.stats.sharedErrors.Add(1)
		x.logShared("exchange: cannot subscribe to the fleet's invalidations", err)
		return
	}
	x.unsubscribe = stop
}
