package rediscache_test

import (
	"context"
	"testing"
	"time"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/exchange"
)

// nullCache is a first tier that holds nothing: every request misses it,
// so that a benchmark measures the tier behind it.
type nullCache struct{}

func (nullCache) Get(context.Context, exchange.Key) (*exchange.Entry, error) {
	return nil, exchange.ErrCacheMiss
}
func (nullCache) Set(context.Context, exchange.Key, *exchange.Entry, time.Duration) error {
	return nil
}
func (nullCache) Delete(context.Context, exchange.Key) error { return nil }

// BenchmarkFleet compares, in one run, a request served by the in-process
// tier (with a shared tier behind it), one served by the shared tier on
// loopback Redis (the in-process tier empty every time: the request's
// flight reads Redis, decrypts, decodes), and one that exchanges with the
// testutil authority (no tier holds anything). It reports the bytes Redis
// uses for one entry (MEMORY USAGE).
func BenchmarkFleet(b *testing.B) {
	f := newFleet(b, fleetConfig{replicas: 1})
	sub := f.subject("alice")
	p, err := f.tgt.Prepare()
	if err != nil {
		b.Fatal(err)
	}
	warm, err := f.xs[0].ExchangePrepared(ctx, sub, p)
	if err != nil {
		b.Fatal(err)
	}
	run := func(b *testing.B, x *exchange.Exchanger) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := x.ExchangePrepared(ctx, sub, p); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("first_tier_hit", func(b *testing.B) { run(b, f.xs[0]) })
	b.Run("shared_hit", func(b *testing.B) {
		x := f.replica(b, nullCache{}, f.cs[0])
		run(b, x)
		if st := x.Stats(); st.Exchanges != 0 || st.SharedHits == 0 {
			b.Fatalf("not served by the shared tier: %v", st)
		}
		keys := f.e.allKeys(b)
		usage, err := f.e.r.Do("MEMORY", "USAGE", keys[0], "SAMPLES", "0")
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(usage.(int64)), "redis-B/entry")
		b.ReportMetric(float64(len(warm.AccessToken)), "token-B")
	})
	b.Run("exchange", func(b *testing.B) {
		x := f.replica(b, nullCache{}, nil)
		run(b, x)
	})
}

// replica returns an Exchanger on the fleet's authority with first as its
// in-process tier and shared (nil for none) behind it.
func (f *fleet) replica(tb testing.TB, first, shared exchange.Cache) *exchange.Exchanger {
	tb.Helper()
	client, err := authority.New(authority.Config{
		TokenURL: f.a.TokenURL(), ClientID: "gateway", ClientSecret: "gateway-secret",
		HTTPClient: f.a.Client(), Now: f.e.clock.Now,
	})
	if err != nil {
		tb.Fatal(err)
	}
	x, err := exchange.New(client, exchange.Options{Cache: first, Shared: shared, Now: f.e.clock.Now})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(x.Close)
	return x
}
