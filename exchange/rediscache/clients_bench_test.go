package rediscache_test

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// benchValueSize is about what an encrypted entry holding a ~1 KiB token
// takes.
const benchValueSize = 1300

// BenchmarkClients measures the client on a plain GET of a ~1.3 KiB value
// from a loopback redis-server, serial and parallel, and its
// server-assisted client-side cache (DoCache) for repeat hits. (It
// compared go-redis v9.22.0 too when the client was chosen; the figures
// are in the package's history: go-redis was slower in parallel and
// allocated 6 times a GET against rueidis's 1.)
func BenchmarkClients(b *testing.B) {
	r := testutil.StartRedis(b)
	val := make([]byte, benchValueSize)
	_, _ = rand.Read(val)
	ctx := context.Background()
	const key = "bench:value"
	if _, err := r.Do("SET", key, string(val)); err != nil {
		b.Fatal(err)
	}

	ru, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{r.Addr()}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(ru.Close)

	get := map[string]func() ([]byte, error){
		"rueidis": func() ([]byte, error) {
			return ru.Do(ctx, ru.B().Get().Key(key).Build()).AsBytes()
		},
		"rueidis-DoCache": func() ([]byte, error) {
			return ru.DoCache(ctx, ru.B().Get().Key(key).Cache(), time.Minute).AsBytes()
		},
	}
	for _, name := range []string{"rueidis", "rueidis-DoCache"} {
		f := get[name]
		b.Run(name+"/serial", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				v, err := f()
				if err != nil || len(v) != benchValueSize {
					b.Fatalf("%v %d", err, len(v))
				}
			}
		})
		b.Run(name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					v, err := f()
					if err != nil || len(v) != benchValueSize {
						b.Errorf("%v %d", err, len(v))
						return
					}
				}
			})
		})
	}
}
