package jwt

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/internal/claimcache"
	"github.com/go-tokenexchange/tokenexchange/middleware"
)

// claimsPayload is a realistic claim set of about 700 bytes, distinct for
// each i.
func claimsPayload(i int, exp time.Time) []byte {
	return fmt.Appendf(nil, `{"iss":"https://auth.example.com/realms/shop","sub":"user-%08d","aud":["api","orders"],`+
		`"exp":%d,"iat":%d,"jti":"%08d-8c1e-4b7e-9a51-6d0f3c2b7a90","scope":"openid profile email read write",`+
		`"client_id":"web","email":"user-%08d@example.com","pad":%q}`,
		i, exp.Unix(), exp.Add(-time.Hour).Unix(), i, i, strings.Repeat("x", 380))
}

func digestOf(i int) [sha256.Size]byte {
	return sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(i)))
}

// The bounds hold however many distinct valid tokens arrive: 100,000 of
// them into caches bounded in entries, in bytes, and by the defaults.
func TestVerifiedCacheBound(t *testing.T) {
	now := time.Now()
	claims, err := middleware.ParseClaims(claimsPayload(0, now.Add(time.Hour)))
	require.NoError(t, err)
	payload := len(claimsPayload(0, now.Add(time.Hour)))
	size := claimcache.EntrySize(claims, payload)
	for _, tc := range []struct {
		name       string
		maxEntries int
		maxBytes   int64
	}{
		{"entries bind", 1_000, 1 << 30},
		{"bytes bind", 100_000, 1 << 20},
		{"defaults", DefaultVerifiedCacheMaxEntries, DefaultVerifiedCacheMaxBytes},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vc, err := newVerifiedCache(tc.maxEntries, tc.maxBytes, time.Hour, time.Now)
			require.NoError(t, err)
			defer vc.close()
			var id keyID
			for i := range 100_000 {
				vc.put(digestOf(i), claims, id, payload, now, 0)
			}
			vc.c.CleanUp()
			require.LessOrEqual(t, vc.len(), tc.maxEntries)
			require.LessOrEqual(t, vc.c.WeightedSize(), uint64(tc.maxBytes))
			require.LessOrEqual(t, int64(vc.len())*size, tc.maxBytes, "estimated bytes")
			require.Positive(t, vc.len())
			require.Positive(t, vc.evictions.Load())
		})
	}
}

// A hit checks the verifying key's membership in the key set held, even
// before a refresh has purged the entry.
func TestVerifiedEntryFresh(t *testing.T) {
	now := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	var k1, k2 keyID
	k1[0], k2[0] = 1, 2
	snap := &keySnapshot{ids: map[keyID]struct{}{k1: {}}}
	e := &verifiedEntry{key: k1, from: now.Add(-time.Minute), until: now.Add(time.Minute)}
	for _, tc := range []struct {
		name string
		e    verifiedEntry
		at   time.Time
		want bool
	}{
		{"fresh", *e, now, true},
		{"at until", *e, now.Add(time.Minute), false},
		{"at from", *e, now.Add(-time.Minute), true},
		{"before from", *e, now.Add(-time.Minute - 1), false},
		{"key gone", verifiedEntry{key: k2, from: e.from, until: e.until}, now, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, tc.e.fresh(tc.at, snap))
		})
	}
}

// BenchmarkVerifiedCacheMemory fills a cache with 100,000 distinct
// verified tokens (claims parsed from distinct 700-byte payloads, as
// Validate stores them) and reports the heap they take per entry, next
// to the estimate the byte bound uses.
func BenchmarkVerifiedCacheMemory(b *testing.B) {
	const n = 100_000
	now := time.Now()
	for b.Loop() {
		b.StopTimer()
		vc, err := newVerifiedCache(2*n, 1<<31, time.Hour, time.Now) // room for all
		if err != nil {
			b.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		// The payloads are made after the first reading: an entry keeps
		// its claims' JSON, as Validate's decoded payload.
		payloads := make([][]byte, n)
		for i := range payloads {
			payloads[i] = claimsPayload(i, now.Add(time.Hour))
		}
		b.StartTimer()
		var estimate int64
		for i, p := range payloads {
			c, err := middleware.ParseClaims(p)
			if err != nil {
				b.Fatal(err)
			}
			vc.put(digestOf(i), c, keyID{}, len(p), now, 0)
			estimate += claimcache.EntrySize(c, len(p))
		}
		vc.c.CleanUp()
		b.StopTimer()
		payloads = nil // the entries keep theirs, through their claims
		runtime.GC()
		runtime.ReadMemStats(&after)
		entries := vc.len()
		if entries != n {
			b.Fatalf("%d entries, want %d", entries, n)
		}
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(entries), "heap-B/entry")
		b.ReportMetric(float64(estimate)/n, "estimated-B/entry")
		b.ReportMetric(float64(len(claimsPayload(0, now))), "payload-B")
		runtime.KeepAlive(vc)
		vc.close()
		b.StartTimer()
	}
}
