package outbound

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"sync"
	"time"

	"github.com/go-tokenexchange/tokenexchange/authority"
)

// defaultRefusalWindow is the refusal window when [Options.RefusalWindow]
// is zero.
const defaultRefusalWindow = 30 * time.Second

// refusalMax bounds how many routes and subjects a Transport remembers.
const refusalMax = 10_000

// refusalKeyVersion separates these digests from any other use of SHA-256.
const refusalKeyVersion = "tokenexchange/outbound/refusal/v2"

// refusals remembers, for each route and subject, a retry after a 401 in
// progress and whether the route's downstream refused a fresh token (a
// refusal window). Keys are SHA-256 digests (see [Transport.refusalKey]);
// tokens are kept only as digests. It is safe for concurrent use.
type refusals struct {
	window time.Duration // > 0
	now    func() time.Time
	max    int

	mu        sync.Mutex // guards m and nextSweep
	m         map[[32]byte]*refusal
	nextSweep time.Time // no sweep for expired entries before
}

// refusal is what is known of one route and subject. A refusal whose
// refused is false is a retry in progress.
type refusal struct {
	until    time.Time // forgotten from then on
	refused  bool      // a fresh token was refused: 401s are passed on
	replaced [32]byte  // the digest of the token the retry replaces
	fresh    [32]byte  // the digest of the fresh token, when hasFresh
	hasFresh bool
	// done is closed when the retry in progress has ended (see release).
	done   chan struct{}
	closed bool
}

// verdict is what to do with a 401.
type verdict int

const (
	// retry: get a fresh token and resend.
	retry verdict = iota
	// retryOwner: the same, and this caller started the retry in progress
	// for the key: it must release it when done.
	retryOwner
	// wait: the 401 is for the fresh token of the retry in progress (or
	// for one it does not replace): wait for that retry's verdict, on
	// done, then ask again.
	wait
	// passOn: a refusal window is open; pass the 401 on as it is.
	passOn
)

func newRefusals(window time.Duration, now func() time.Time) *refusals {
	switch {
	case window < 0:
		return nil
	case window == 0:
		window = defaultRefusalWindow
	}
	if now == nil {
		now = time.Now
	}
	return &refusals{window: window, now: now, max: refusalMax, m: make(map[[32]byte]*refusal)}
}

// begin says what to do with a 401 for key, whose request carried the
// token sent. st is the retry in progress, to pass to the other methods
// (retry, retryOwner), or whose end to wait for (wait: on done).
func (g *refusals) begin(key [32]byte, sent string) (v verdict, st *refusal, done <-chan struct{}) {
	h := digest(sent)
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	st, started := g.getOrStart(now, key, h)
	switch {
	case started:
		return retryOwner, st, nil
	case st.refused:
		return passOn, nil, nil
	case h != st.replaced && !st.closed:
		// The fresh token of the retry in progress, or another it does
		// not replace: its verdict (a window, or the fresh token
		// accepted) decides, without another exchange now.
		return wait, st, st.done
	}
	return retry, st, nil
}

// unsent says what to do with a refusal for key of a call that is not
// sent again (a gRPC stream), sent with the token sent:
//
//   - retryOwner: nothing is known of key: drop sent. st is a new entry
//     recording that sent is replaced, for the window; the caller
//     releases it (after asking the shared memory, which may turn it into
//     a window with adopt).
//   - retry: sent is the token an earlier refusal in the window (or the
//     retry in progress) replaces: drop it, again (a no-op once the cache
//     has moved on).
//   - wait: a retry in progress ([Destination.Retry]) replaces another
//     token and sent is not its fresh one: wait for its verdict on done,
//     then ask again.
//   - passOn: a refusal window is open, or opened now (opened true): sent
//     was got after an earlier refusal in the window replaced another
//     token, and is refused too.
func (g *refusals) unsent(key [32]byte, sent string) (v verdict, opened bool, st *refusal, done <-chan struct{}) {
	h := digest(sent)
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	st, started := g.getOrStart(now, key, h)
	switch {
	case started:
		return retryOwner, false, st, nil
	case st.refused:
		return passOn, false, nil, nil
	case h == st.replaced:
		return retry, false, st, nil
	case !st.closed && (!st.hasFresh || h != st.fresh):
		return wait, false, st, st.done
	}
	g.open(now, st)
	return passOn, true, nil, nil
}

// release ends the retry in progress st, which this caller started, and
// wakes those waiting for it. It may be called more than once.
func (g *refusals) release(st *refusal) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closeDone(st)
}

// closeDone closes st.done once. g.mu is held.
func (g *refusals) closeDone(st *refusal) {
	if st.done != nil && !st.closed {
		st.closed = true
		close(st.done)
	}
}

// freshToken records tok as the fresh token of st, and reports whether a
// refusal window is open for key with tok refused: then it must not be
// sent.
func (g *refusals) freshToken(key [32]byte, st *refusal, tok string) (refused bool) {
	h := digest(tok)
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	cur := g.get(now, key)
	if cur == st && !st.refused && !st.hasFresh {
		st.fresh, st.hasFresh = h, true
	}
	return cur != nil && cur.refused
}

// refuse records that the downstream refused a fresh token for key (or
// that the token source had no other token) and reports whether that
// opened a refusal window.
func (g *refusals) refuse(key [32]byte) (opened bool) {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	st := g.get(now, key)
	if st != nil && st.refused {
		return false
	}
	if st == nil {
		st = &refusal{}
		g.put(now, key, st)
	}
	g.open(now, st)
	return true
}

// adopt turns key's retry in progress st, which this caller started, into
// a refusal window that another transport opened (see [RefusalMemory]):
// for ttl from now, at most the window, and wakes those waiting for st.
func (g *refusals) adopt(key [32]byte, st *refusal, ttl time.Duration) {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	defer g.closeDone(st)
	cur := g.get(now, key)
	switch {
	case cur != nil && cur.refused:
		return // opened here meanwhile
	case cur == nil:
		cur = &refusal{}
		g.put(now, key, cur)
	}
	cur.refused, cur.until = true, now.Add(min(ttl, g.window))
	g.closeDone(cur)
}

// end forgets st, when it is still key's retry in progress: the
// downstream accepted the fresh token, or the retry ended without a
// verdict.
func (g *refusals) end(key [32]byte, st *refusal) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if cur, ok := g.m[key]; ok && cur == st && !st.refused {
		delete(g.m, key)
	}
	g.closeDone(st)
}

// len returns the number of routes and subjects remembered.
func (g *refusals) len() int {
	if g == nil {
		return 0
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.m)
}

// open turns st into a refusal window from now. g.mu is held.
func (g *refusals) open(now time.Time, st *refusal) {
	st.refused, st.until = true, now.Add(g.window)
	g.closeDone(st)
}

// get returns key's entry unless it has expired (then it is removed).
// g.mu is held.
func (g *refusals) get(now time.Time, key [32]byte) *refusal {
	st, ok := g.m[key]
	if ok && !now.Before(st.until) {
		delete(g.m, key)
		return nil
	}
	return st
}

// getOrStart returns key's entry or, when there is none, a new retry in
// progress for the window replacing the token whose digest is replaced
// (started true). g.mu is held.
func (g *refusals) getOrStart(now time.Time, key, replaced [32]byte) (st *refusal, started bool) {
	if st = g.get(now, key); st != nil {
		return st, false
	}
	st = &refusal{until: now.Add(g.window), replaced: replaced, done: make(chan struct{})}
	g.put(now, key, st)
	return st, true
}

// put stores st for key, first removing expired entries (at most once per
// quarter window) and then any others while the map is full. g.mu is
// held.
func (g *refusals) put(now time.Time, key [32]byte, st *refusal) {
	if len(g.m) >= g.max && !now.Before(g.nextSweep) {
		for k, e := range g.m {
			if !now.Before(e.until) {
				delete(g.m, k)
			}
		}
		g.nextSweep = now.Add(g.window / 4)
	}
	for k := range g.m {
		if len(g.m) < g.max {
			break
		}
		delete(g.m, k)
	}
	g.m[key] = st
}

// refusalKey returns the digest naming r (by its mode and destination,
// not its place in the table, so that replicas sharing a [RefusalMemory]
// agree) and, on an exchange route, the subject token and the actor's
// current token: what, for one route, separates the exchanger's cache
// keys (its target and client are the route's). An own-token route has
// one key: its TokenSource serves every subject. ok is false when the
// actor's token cannot be had (the retry then fails on it anyway).
func (r *route) refusalKey(ctx context.Context, subject authority.SubjectToken) (key [32]byte, ok bool) {
	h := sha256.New()
	writeField(h, refusalKeyVersion)
	writeField(h, r.dest)
	if r.mode == ModeExchange {
		sum := subject.Digest() // computed once per request
		h.Write(sum[:])
		if r.actorTokens != nil {
			tok, err := r.actorTokens.Token(ctx)
			if err != nil || tok == nil || tok.AccessToken == "" {
				return key, false
			}
			writeField(h, tok.AccessToken)
		}
	}
	h.Sum(key[:0])
	return key, true
}

func writeField(h hash.Hash, s string) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(s)))
	h.Write(n[:])
	h.Write([]byte(s))
}

func digest(s string) [32]byte { return sha256.Sum256([]byte(s)) }
