package claimcache_test

import (
	"testing"
	"time"

	"github.com/maypok86/otter/v2"
	"go.uber.org/goleak"

	"github.com/go-tokenexchange/tokenexchange/internal/claimcache"
	"github.com/go-tokenexchange/tokenexchange/middleware"
)

// TestMain fails the package's tests if any goroutine outlives them.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestEntrySize(t *testing.T) {
	for _, tc := range []struct {
		name    string
		claims  middleware.Claims
		payload int
		want    int64
	}{
		{name: "empty", want: claimcache.EntryOverhead},
		{name: "payload", payload: 700, want: claimcache.EntryOverhead + 700},
		{
			name:   "strings",
			claims: middleware.Claims{Issuer: "iss", Subject: "alice", ID: "j1", Audience: []string{"api", "orders"}, Scopes: []string{"read"}},
			want:   claimcache.EntryOverhead + 3 + 5 + 2 + (16 + 3) + (16 + 6) + (16 + 4),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := claimcache.EntrySize(&tc.claims, tc.payload); got != tc.want {
				t.Fatalf("EntrySize = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestLater(t *testing.T) {
	a, b := time.Unix(100, 0), time.Unix(200, 0)
	for _, tc := range []struct {
		name       string
		x, y, want time.Time
	}{
		{"second later", a, b, b},
		{"first later", b, a, b},
		{"equal", a, a, a},
		{"zero", time.Time{}, a, a},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := claimcache.Later(tc.x, tc.y); !got.Equal(tc.want) {
				t.Fatalf("Later = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestOtterWithoutGoroutines: a cache on Clock and Inline expires entries
// by the clock given, and starts no goroutine (TestMain checks).
func TestOtterWithoutGoroutines(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c, err := otter.New(&otter.Options[string, int]{
		MaximumSize:      10,
		ExpiryCalculator: otter.ExpiryWriting[string, int](time.Minute),
		Clock:            claimcache.Clock{Now: func() time.Time { return now }},
		Executor:         claimcache.Inline,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.InvalidateAll()
	c.Set("k", 1)
	if _, ok := c.GetIfPresent("k"); !ok {
		t.Fatal("entry missing before its expiry")
	}
	now = now.Add(time.Minute)
	if _, ok := c.GetIfPresent("k"); ok {
		t.Fatal("entry served at its expiry")
	}
	if ch := (claimcache.Clock{}).Tick(time.Second); ch != nil {
		t.Fatal("Tick returned a channel")
	}
}
