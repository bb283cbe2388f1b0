package outbound

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/go-tokenexchange/tokenexchange/authority"
)

// TestRefusalsBounded: the memory of refusal windows never holds more than
// its maximum, and forgets an entry when its window has passed.
func TestRefusalsBounded(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	g := newRefusals(time.Minute, func() time.Time { return now })
	g.max = 4
	for i := range 10 {
		key := digest("key" + strconv.Itoa(i))
		if v, _, _ := g.begin(key, "sent"); v != retryOwner {
			t.Fatalf("key %d: verdict %v, want retryOwner", i, v)
		}
		if !g.refuse(key) {
			t.Fatalf("key %d: no window opened", i)
		}
		if n := g.len(); n > g.max {
			t.Fatalf("%d entries, more than %d", n, g.max)
		}
	}
	key := digest("key9")
	if v, _, _ := g.begin(key, "sent"); v != passOn {
		t.Fatalf("verdict %v in the window, want passOn", v)
	}
	now = now.Add(time.Minute)
	if v, _, _ := g.begin(key, "sent"); v != retryOwner {
		t.Fatalf("verdict %v after the window, want retryOwner", v)
	}
}

// TestRefusalsTrial: during a retry in progress, a 401 for the token it
// replaces is retried (it gets the fresh token); one for the fresh token,
// known or not yet, waits for the retry's verdict: a window, or the fresh
// token accepted and the retry forgotten.
func TestRefusalsTrial(t *testing.T) {
	key := digest("k")
	for _, accepted := range []bool{false, true} {
		g := newRefusals(0, nil)
		v, st, _ := g.begin(key, "old")
		if v != retryOwner {
			t.Fatalf("verdict %v, want retryOwner", v)
		}
		if v, _, _ := g.begin(key, "old"); v != retry {
			t.Fatalf("old token again: verdict %v, want retry", v)
		}
		v, _, early := g.begin(key, "new")
		if v != wait {
			t.Fatalf("a newer token before the fresh one is known: verdict %v, want wait", v)
		}
		if g.freshToken(key, st, "new") {
			t.Fatal("fresh token reported refused")
		}
		v, _, done := g.begin(key, "new")
		if v != wait {
			t.Fatalf("fresh token: verdict %v, want wait", v)
		}
		select {
		case <-done:
			t.Fatal("done before the verdict")
		default:
		}
		want := passOn
		if accepted {
			g.end(key, st)
			want = retryOwner
		} else if !g.refuse(key) {
			t.Fatal("no window opened")
		}
		g.release(st)
		<-done
		<-early
		if v, _, _ := g.begin(key, "new"); v != want {
			t.Fatalf("accepted %v: verdict %v after the retry, want %v", accepted, v, want)
		}
	}
}

// TestRefusalKey: the key separates routes, subjects and actor tokens on
// exchange routes, and only routes on own-token routes; it never needs the
// token to be kept.
func TestRefusalKey(t *testing.T) {
	ctx := context.Background()
	actor := &switchingActor{token: "actor-1"}
	x := &route{id: 0, mode: ModeExchange}
	y := &route{id: 1, mode: ModeExchange}
	own := &route{id: 2, mode: ModeOwnToken}
	del := &route{id: 3, mode: ModeExchange, actorTokens: actor}
	key := func(r *route, subject string) [32]byte {
		t.Helper()
		k, ok := r.refusalKey(ctx, authority.NewSubjectToken(subject))
		if !ok {
			t.Fatal("no key")
		}
		return k
	}
	if key(x, "alice") == key(x, "bob") {
		t.Error("subjects share a key")
	}
	if key(x, "alice") == key(y, "alice") {
		t.Error("routes share a key")
	}
	if key(x, "alice") != key(x, "alice") {
		t.Error("the key is not stable")
	}
	if key(own, "alice") != key(own, "bob") {
		t.Error("an own-token route has one key for all subjects")
	}
	before := key(del, "alice")
	actor.set("actor-2")
	if key(del, "alice") == before {
		t.Error("actor tokens share a key")
	}
	actor.set("")
	if _, ok := del.refusalKey(ctx, authority.NewSubjectToken("alice")); ok {
		t.Error("a key without the actor's token")
	}
}

// switchingActor is an actor TokenSource whose token the test sets; ""
// fails.
type switchingActor struct {
	mu    sync.Mutex // guards token
	token string
}

func (s *switchingActor) set(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = tok
}

func (s *switchingActor) Token(context.Context) (*authority.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token == "" {
		return nil, context.Canceled
	}
	return &authority.Token{AccessToken: s.token}, nil
}
