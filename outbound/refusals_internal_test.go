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
	x := &route{dest: "exchange https://x:443", mode: ModeExchange}
	y := &route{dest: "exchange https://y:443", mode: ModeExchange}
	own := &route{dest: "own https://z:443", mode: ModeOwnToken}
	del := &route{dest: "exchange https://d:443", mode: ModeExchange, actorTokens: actor}
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

// TestRefusalsAdopt: a window learned from the shared memory wakes the
// callers waiting on the retry in progress, lasts for what remains of it
// (at most this transport's window), and then is forgotten.
func TestRefusalsAdopt(t *testing.T) {
	for _, tc := range []struct {
		name     string
		ttl, end time.Duration
	}{
		{"remaining", 10 * time.Second, 10 * time.Second},
		{"capped by the window", time.Hour, time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Unix(1_700_000_000, 0)
			g := newRefusals(time.Minute, func() time.Time { return now })
			key := digest("k")
			v, st, _ := g.begin(key, "old")
			if v != retryOwner {
				t.Fatalf("verdict %v, want retryOwner", v)
			}
			v, _, done := g.begin(key, "other")
			if v != wait {
				t.Fatalf("verdict %v, want wait", v)
			}
			g.adopt(key, st, tc.ttl)
			<-done
			if v, _, _ := g.begin(key, "old"); v != passOn {
				t.Fatalf("verdict %v in the adopted window, want passOn", v)
			}
			now = now.Add(tc.end - time.Millisecond)
			if v, _, _ := g.begin(key, "old"); v != passOn {
				t.Fatalf("verdict %v just before the end, want passOn", v)
			}
			now = now.Add(time.Millisecond)
			if v, _, _ := g.begin(key, "old"); v != retryOwner {
				t.Fatalf("verdict %v after the end, want retryOwner", v)
			}
		})
	}
}

// TestRefusalKeyByDestination: tables listing the same routes in another
// order give a route the same key (replicas share windows by it).
func TestRefusalKeyByDestination(t *testing.T) {
	x := &staticSource{}
	one, err := newTable([]Route{{URL: "https://a.internal/api", Mode: ModeOwnToken, Tokens: x}, {URL: "https://b.internal", Mode: ModeOwnToken, Tokens: x}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	two, err := newTable([]Route{{URL: "https://B.internal:443", Mode: ModeOwnToken, Tokens: x}, {URL: "https://a.internal/api", Mode: ModeOwnToken, Tokens: x}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	subject := authority.NewSubjectToken("alice")
	keys := func(tb table) map[string][32]byte {
		out := map[string][32]byte{}
		for o, rs := range tb {
			for _, r := range rs {
				k, _ := r.refusalKey(context.Background(), subject)
				out[o.host+r.prefix] = k
			}
		}
		return out
	}
	k1, k2 := keys(one), keys(two)
	if len(k1) != 2 || k1["a.internal/api"] != k2["a.internal/api"] || k1["b.internal"] != k2["b.internal"] {
		t.Fatalf("keys differ between the tables: %x / %x", k1, k2)
	}
	if k1["a.internal/api"] == k1["b.internal"] {
		t.Fatal("two routes share a key")
	}
}

// staticSource is a TokenSource of one token.
type staticSource struct{}

func (staticSource) Token(context.Context) (*authority.Token, error) {
	return &authority.Token{AccessToken: "own"}, nil
}
