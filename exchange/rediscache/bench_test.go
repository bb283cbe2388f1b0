package rediscache_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/go-tokenexchange/tokenexchange/exchange"
)

// BenchmarkGetHit is a hit from Redis on loopback: GET, decrypt, decode,
// serial and parallel. It reports the bytes Redis uses for the entry
// (MEMORY USAGE of its key) holding a ~1 KiB access token.
func BenchmarkGetHit(b *testing.B) {
	e := newEnv(b)
	c := e.cache(b, nil)
	k := keyFor("alice")
	ent := e.entry(token("access", 1024), "")
	if err := c.Set(ctx, k, ent, time.Hour); err != nil {
		b.Fatal(err)
	}
	usage, err := e.r.Do("MEMORY", "USAGE", c.RedisKey(k), "SAMPLES", "0")
	if err != nil {
		b.Fatal(err)
	}
	v, _ := e.rawGet(b, c.RedisKey(k))
	get := func() *exchange.Entry {
		got, err := c.Get(ctx, k)
		if err != nil {
			b.Fatal(err)
		}
		return got
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			get()
		}
		b.ReportMetric(float64(usage.(int64)), "redis-B/entry")
		b.ReportMetric(float64(len(v)), "value-B")
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := c.Get(ctx, k); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("set", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			if err := c.Set(ctx, keyFor(strconv.Itoa(i%1000)), ent, time.Hour); err != nil {
				b.Fatal(err)
			}
		}
	})
}
