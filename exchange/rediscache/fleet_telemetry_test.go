package rediscache_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/internal/oteltest"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// eventNames returns the names of the events of the ended spans named
// name.
func eventNames(tr *oteltest.Traces, name string) []string {
	var out []string
	for _, s := range tr.Ended(name) {
		for _, e := range s.Events() {
			out = append(out, e.Name)
		}
	}
	return out
}

// TestFleetTelemetry: a replica that loses the lock waits, then finds the
// token (or times out and exchanges itself); a later replica's flight is
// a shared hit. Each shows in the flight's span events, the lookups, and
// the shared tier's counters; no metric or span holds a token.
func TestFleetTelemetry(t *testing.T) {
	for _, tc := range []struct {
		name       string
		sharedWait time.Duration
		want       string // the event after "lock lost; waiting"
		exchanges  int
	}{
		{"found", 10 * time.Second, "", 1},
		{"timeout", 20 * time.Millisecond, "wait timed out", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &gate{arrived: make(chan struct{}, 1), release: make(chan struct{})}
			metrics := []*oteltest.Metrics{oteltest.NewMetrics(t), oteltest.NewMetrics(t), oteltest.NewMetrics(t)}
			traces := []*oteltest.Traces{oteltest.NewTraces(t), oteltest.NewTraces(t), oteltest.NewTraces(t)}
			f := newFleet(t, fleetConfig{
				replicas: 3,
				transport: func(i int, base http.RoundTripper) http.RoundTripper {
					if i == 0 {
						g.base = base
						return g
					}
					return base
				},
				optsFor: func(i int, o *exchange.Options) {
					o.MeterProvider, o.TracerProvider = metrics[i].Provider, traces[i].Provider
					o.SharedWait = tc.sharedWait
				},
			})
			sub := f.subject("alice")
			g.hold.Store(true)
			first := make(chan *authority.Token, 1)
			go func() {
				tok, err := f.xs[0].Exchange(ctx, sub, f.tgt)
				assert.NoError(t, err)
				first <- tok
			}()
			<-g.arrived // replica 0 holds the lock and waits at the authority
			second := make(chan *authority.Token, 1)
			go func() {
				tok, err := f.xs[1].Exchange(ctx, sub, f.tgt)
				assert.NoError(t, err)
				second <- tok
			}()
			if tc.want == "" {
				testutil.WaitFor(t, "replica 1 to lose the lock", func() bool { return f.xs[1].Stats().LocksLost == 1 })
			} else {
				<-second
			}
			g.hold.Store(false)
			close(g.release)
			t0 := <-first
			if tc.want == "" {
				assert.Equal(t, t0.AccessToken, (<-second).AccessToken)
			}
			// Replica 2 comes later: a shared hit.
			assert.Equal(t, t0.AccessToken, f.exchange(t, 2, sub).AccessToken)
			assert.Equal(t, tc.exchanges, f.exchanges())

			wantEvents := []string{"lock lost; waiting"}
			if tc.want != "" {
				wantEvents = append(wantEvents, tc.want)
			}
			assert.Equal(t, wantEvents, eventNames(traces[1], "tokenexchange.exchange"))
			assert.Equal(t, []string{"shared hit"}, eventNames(traces[2], "tokenexchange.exchange"))
			assert.Empty(t, eventNames(traces[0], "tokenexchange.exchange"))

			const lookups = "tokenexchange.exchange.cache.lookups"
			shared := attribute.String("tokenexchange.lookup", "shared_hit")
			outcome := func(v string) attribute.KeyValue { return attribute.String("tokenexchange.outcome", v) }
			assert.Equal(t, int64(1), metrics[2].Int64(t, lookups, shared))
			assert.Equal(t, int64(0), metrics[0].Int64(t, lookups, shared))
			assert.Equal(t, int64(1), metrics[0].Int64(t, "tokenexchange.exchange.shared.locks", outcome("won")))
			assert.Equal(t, int64(1), metrics[1].Int64(t, "tokenexchange.exchange.shared.locks", outcome("lost")))
			if tc.want == "" {
				assert.Equal(t, int64(1), metrics[1].Int64(t, lookups, shared))
				assert.Equal(t, int64(1), metrics[1].Int64(t, "tokenexchange.exchange.shared.waits", outcome("found")))
			} else {
				assert.Equal(t, int64(1), metrics[1].Int64(t, lookups, attribute.String("tokenexchange.lookup", "miss")))
				assert.Equal(t, int64(1), metrics[1].Int64(t, "tokenexchange.exchange.shared.waits", outcome("timeout")))
			}

			require.True(t, f.xs[2].Invalidate(ctx, sub, f.tgt, t0))
			testutil.WaitFor(t, "the invalidation", func() bool { return f.xs[0].Stats().InvalidationsApplied == 1 })
			assert.Equal(t, int64(1), metrics[2].Int64(t, "tokenexchange.exchange.shared.invalidations", attribute.String("tokenexchange.operation", "publish")))
			assert.Equal(t, int64(1), metrics[0].Int64(t, "tokenexchange.exchange.shared.invalidations", attribute.String("tokenexchange.operation", "apply")))

			for i := range 3 {
				all := slices.Concat(metrics[i].Strings(t), traces[i].Strings())
				for _, s := range all {
					assert.False(t, strings.Contains(s, t0.AccessToken[len(t0.AccessToken)-20:]) || strings.Contains(s, sub.Value()[len(sub.Value())-20:]), s)
				}
			}
		})
	}
}
