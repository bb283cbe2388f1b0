package jwt

import (
	"context"
	"sync"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/go-tokenexchange/tokenexchange/internal/semconv"
)

// lookupKey is the attribute of tokenexchange.jwt.verified_cache.lookups.
const lookupKey = semconv.Lookup

// verifiedTelemetry reports the verified-token cache through observable
// instruments fed by the cache's atomic counters: a lookup costs an
// atomic add, never a metric call.
type verifiedTelemetry struct {
	once sync.Once           // guards the unregistration
	reg  metric.Registration // nil when nothing was registered
}

// observeVerified registers the callback of the verified-token cache's
// instruments (none when vc is nil: the cache is off).
func (t *telemetry) observeVerified(vc *verifiedCache) {
	if vc == nil {
		return
	}
	lookups, err := t.meter.Int64ObservableCounter("tokenexchange.jwt.verified_cache.lookups",
		metric.WithUnit("{lookup}"),
		metric.WithDescription("Lookups of the JWT validator's verified-token cache, by result (hit: answered without verifying the token again; miss)."))
	if err != nil {
		otel.Handle(err)
		lookups = noop.Int64ObservableCounter{}
	}
	entries, err := t.meter.Int64ObservableGauge("tokenexchange.jwt.verified_cache.entries",
		metric.WithUnit("{entry}"),
		metric.WithDescription("Entries of the JWT validator's verified-token cache, counting some that have expired."))
	if err != nil {
		otel.Handle(err)
		entries = noop.Int64ObservableGauge{}
	}
	evictions, err := t.meter.Int64ObservableCounter("tokenexchange.jwt.verified_cache.evictions",
		metric.WithUnit("{entry}"),
		metric.WithDescription("Entries of the JWT validator's verified-token cache evicted to keep its bounds in entries and bytes."))
	if err != nil {
		otel.Handle(err)
		evictions = noop.Int64ObservableCounter{}
	}
	hit := metric.WithAttributeSet(attribute.NewSet(lookupKey.String("hit")))
	miss := metric.WithAttributeSet(attribute.NewSet(lookupKey.String("miss")))
	reg, err := t.meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(lookups, vc.hits.Load(), hit)
		o.ObserveInt64(lookups, vc.misses.Load(), miss)
		o.ObserveInt64(entries, int64(vc.len()))
		o.ObserveInt64(evictions, vc.evictions.Load())
		return nil
	}, lookups, entries, evictions)
	if err != nil {
		otel.Handle(err)
		return
	}
	t.verified.reg = reg
}

// stopVerified unregisters the callback of observeVerified, once.
func (t *telemetry) stopVerified() {
	t.verified.once.Do(func() {
		if t.verified.reg != nil {
			if err := t.verified.reg.Unregister(); err != nil {
				otel.Handle(err)
			}
		}
	})
}
