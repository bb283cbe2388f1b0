package claimcache_test

import (
	"errors"
	"sync/atomic"
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

// TestNewBounds: a cache from New keeps both bounds, counts the entries
// it evicts for them, expires entries at Until, and refuses bounds whose
// bytes per entry exceed a weight.
func TestNewBounds(t *testing.T) {
	type entry struct {
		size  uint32
		until time.Time
	}
	now := time.Unix(1_800_000_000, 0)
	w := func(maxEntries int, maxBytes int64, evictions *atomic.Int64) claimcache.Weighed[*entry] {
		return claimcache.Weighed[*entry]{
			MaxEntries: maxEntries,
			MaxBytes:   maxBytes,
			Size:       func(e *entry) uint32 { return e.size },
			Until:      func(e *entry) time.Time { return e.until },
			Now:        func() time.Time { return now },
			Evictions:  evictions,
		}
	}
	for _, tc := range []struct {
		name       string
		maxEntries int
		maxBytes   int64
		size       uint32
	}{
		{"entries bind", 10, 1 << 20, 100},
		{"bytes bind", 1_000, 10 * 1_000, 1_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var evictions atomic.Int64
			c, err := claimcache.New[int](w(tc.maxEntries, tc.maxBytes, &evictions))
			if err != nil {
				t.Fatal(err)
			}
			defer c.InvalidateAll()
			for i := range 1_000 {
				c.Set(i, &entry{size: tc.size, until: now.Add(time.Hour)})
			}
			c.CleanUp()
			if n := c.EstimatedSize(); n > 10 || n == 0 {
				t.Fatalf("%d entries, want 1 to 10", n)
			}
			if c.WeightedSize() > uint64(tc.maxBytes) {
				t.Fatalf("weight %d over %d", c.WeightedSize(), tc.maxBytes)
			}
			if evictions.Load() == 0 {
				t.Fatal("no eviction counted")
			}
		})
	}
	t.Run("expiry", func(t *testing.T) {
		var evictions atomic.Int64
		c, err := claimcache.New[int](w(10, 1<<20, &evictions))
		if err != nil {
			t.Fatal(err)
		}
		defer c.InvalidateAll()
		c.Set(1, &entry{size: 1, until: now.Add(time.Minute)})
		if _, ok := c.GetIfPresent(1); !ok {
			t.Fatal("entry missing before Until")
		}
		now = now.Add(time.Minute)
		if _, ok := c.GetIfPresent(1); ok {
			t.Fatal("entry served at Until")
		}
	})
	t.Run("too large", func(t *testing.T) {
		if _, err := claimcache.New[int](w(1, 1<<32, new(atomic.Int64))); !errors.Is(err, claimcache.ErrTooLarge) {
			t.Fatalf("err = %v, want ErrTooLarge", err)
		}
	})
}
