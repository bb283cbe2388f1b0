package exchange_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/internal/oteltest"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// kibSubject issues a subject token of 1 KiB.
func kibSubject(e *env, sub string) string {
	claims := testutil.TokenClaims{Subject: sub, Audience: []string{clientID}, Expiry: e.clock.Now().Add(time.Hour)}
	short := e.a.IssueToken(claims)
	// base64 grows the padding by 4/3; adjust until the token is 1 KiB.
	pad := (1024 - len(short) - 10) * 3 / 4
	for {
		claims.Extra = map[string]any{"pad": strings.Repeat("p", pad)}
		tok := e.a.IssueToken(claims)
		switch {
		case len(tok) < 1024:
			pad++
		case len(tok) > 1024 && pad > 0:
			pad--
			if claims.Extra = (map[string]any{"pad": strings.Repeat("p", pad)}); len(e.a.IssueToken(claims)) < 1024 {
				return tok // the closest at or above 1 KiB
			}
		default:
			return tok
		}
	}
}

// warm returns an Exchanger with the cached token for a 1 KiB subject.
func warm(b *testing.B) (*exchange.Exchanger, string, *exchange.Prepared) {
	return warmWith(b, exchange.Options{})
}

// warmWith is warm with opts (its clock is time.Now).
func warmWith(b *testing.B, opts exchange.Options) (*exchange.Exchanger, string, *exchange.Prepared) {
	opts.Now = time.Now
	e := newEnv(b, opts, testutil.Options{Now: time.Now}, nil)
	subject := kibSubject(e, "alice")
	p, err := exchange.Target{Audiences: []string{"api-a"}, Scopes: []string{"read"}}.Prepare()
	if err != nil {
		b.Fatal(err)
	}
	if _, err := e.x.ExchangePrepared(context.Background(), authority.NewSubjectToken(subject), p); err != nil {
		b.Fatal(err)
	}
	return e.x, subject, p
}

// BenchmarkSHA256 is the bare cost of hashing the 1 KiB subject token,
// the yardstick of BenchmarkCacheHit.
func BenchmarkSHA256(b *testing.B) {
	e := newEnv(b, exchange.Options{}, testutil.Options{}, nil)
	subject := []byte(kibSubject(e, "alice"))
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sum := sha256.Sum256(subject)
			_ = sum
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				sum := sha256.Sum256(subject)
				_ = sum
			}
		})
	})
}

// BenchmarkCacheHit is Exchange with a warm cache and a 1 KiB subject:
// serial and parallel with a new SubjectToken per call (the hit hashes the
// token), digested with one whose digest was computed before (as the
// middleware's validator does), and unprepared with a Target prepared on
// every call.
func BenchmarkCacheHit(b *testing.B) {
	x, subject, p := warm(b)
	ctx := context.Background()
	benchHits(b, x, ctx, subject, p) // serial and parallel
	b.Run("digested", func(b *testing.B) {
		// The SubjectToken of a request whose validator (or an earlier
		// exchange) has computed the digest: the hit hashes only the
		// fixed-size key input.
		st := authority.NewSubjectToken(subject)
		_ = st.Digest()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := x.ExchangePrepared(ctx, st, p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("digested-parallel", func(b *testing.B) {
		st := authority.NewSubjectToken(subject)
		_ = st.Digest()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := x.ExchangePrepared(ctx, st, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("unprepared", func(b *testing.B) {
		tgt := exchange.Target{Audiences: []string{"api-a"}, Scopes: []string{"read"}}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := x.Exchange(ctx, authority.NewSubjectToken(subject), tgt); err != nil {
				b.Fatal(err)
			}
		}
	})
	if st := x.Stats(); st.Exchanges != 1 {
		b.Fatalf("%d exchanges, want 1", st.Exchanges)
	}
}

// BenchmarkCacheHitTelemetry is BenchmarkCacheHit with telemetry: with the
// default (global, no-op) providers and a LookupRecorder in the context
// (what an access log adds); with the SDK's MeterProvider and
// TracerProvider; and with those and a context carrying a recorder and a
// recording span, as a traced request's does.
func BenchmarkCacheHitTelemetry(b *testing.B) {
	b.Run("noop+recorder", func(b *testing.B) {
		x, subject, p := warm(b)
		benchHits(b, x, exchange.ContextWithLookupRecorder(context.Background(), &exchange.LookupRecorder{}), subject, p)
	})
	sdk := exchange.Options{MeterProvider: oteltest.NewMetrics(b).Provider, TracerProvider: oteltest.NewTraces(b).Provider}
	b.Run("sdk", func(b *testing.B) {
		x, subject, p := warmWith(b, sdk)
		benchHits(b, x, context.Background(), subject, p)
	})
	b.Run("sdk+span+recorder", func(b *testing.B) {
		x, subject, p := warmWith(b, sdk)
		ctx, span := sdk.TracerProvider.Tracer("bench").Start(context.Background(), "request")
		defer span.End()
		benchHits(b, x, exchange.ContextWithLookupRecorder(ctx, &exchange.LookupRecorder{}), subject, p)
	})
}

// benchHits runs the serial and parallel hit benchmarks with ctx, a new
// SubjectToken per call: BenchmarkCacheHit's first two, and each of
// BenchmarkCacheHitTelemetry's.
func benchHits(b *testing.B, x *exchange.Exchanger, ctx context.Context, subject string, p *exchange.Prepared) {
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := x.ExchangePrepared(ctx, authority.NewSubjectToken(subject), p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := x.ExchangePrepared(ctx, authority.NewSubjectToken(subject), p); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// BenchmarkThunderingHerd starts 1,000 goroutines for one new subject per
// iteration and checks that the authority saw exactly one exchange.
func BenchmarkThunderingHerd(b *testing.B) {
	const herd = 1000
	e := newEnv(b, exchange.Options{Now: time.Now}, testutil.Options{Now: time.Now}, nil)
	p, err := exchange.Target{Audiences: []string{"api-a"}}.Prepare()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	i := 0
	for b.Loop() {
		b.StopTimer()
		subject := e.subject(fmt.Sprintf("user-%d", i))
		i++
		before := e.exchanges()
		start := make(chan struct{})
		var wg sync.WaitGroup
		for range herd {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if _, err := e.x.ExchangePrepared(ctx, authority.NewSubjectToken(subject), p); err != nil {
					b.Error(err)
				}
			}()
		}
		b.StartTimer()
		close(start)
		wg.Wait()
		if calls := e.exchanges() - before; calls != 1 {
			b.Fatalf("%d authority calls for one subject, want 1", calls)
		}
	}
	b.ReportMetric(float64(e.exchanges())/float64(i), "authority-calls/herd")
}

// BenchmarkMemory fills a MemoryCache with 100,000 entries of 1 KiB tokens
// and reports the heap bytes per entry, the token included.
func BenchmarkMemory(b *testing.B) {
	const n, size = 100_000, 1024
	var perEntry float64
	for b.Loop() {
		b.StopTimer()
		tokens := make([]string, n)
		for i := range tokens {
			tokens[i] = fmt.Sprintf("%08d", i) + strings.Repeat("x", size-8)
		}
		expiry := time.Now().Add(time.Hour)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		b.StartTimer()
		c, err := exchange.NewMemoryCache(exchange.MemoryOptions{MaxEntries: 2 * n, MaxBytes: 1 << 30})
		if err != nil {
			b.Fatal(err)
		}
		for _, tok := range tokens {
			// A decoded token response allocates its own strings.
			_ = c.Set(context.Background(), sha256.Sum256([]byte(tok)), &exchange.Entry{
				Token:   &authority.Token{AccessToken: strings.Clone(tok), TokenType: "Bearer", IssuedTokenType: authority.TokenTypeAccessToken, Expiry: expiry},
				Expires: expiry,
			}, time.Hour)
		}
		b.StopTimer()
		c.CleanUp()
		runtime.GC()
		runtime.ReadMemStats(&after)
		if c.Len() != n {
			b.Fatalf("%d entries cached, want %d", c.Len(), n)
		}
		perEntry = float64(after.HeapAlloc-before.HeapAlloc) / n
		runtime.KeepAlive(tokens)
		c.Close()
		b.StartTimer()
	}
	b.ReportMetric(perEntry, "bytes/entry")
	b.ReportMetric(perEntry-size, "overhead-bytes/entry")
}
