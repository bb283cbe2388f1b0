package jwt

import (
	"context"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

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
	lookups := semconv.Int64ObservableCounter(t.meter, "tokenexchange.jwt.verified_cache.lookups", "{lookup}",
		"Lookups of the JWT validator's verified-token cache, by result (hit: answered without verifying the token again; miss).")
	entries := semconv.Int64ObservableGauge(t.meter, "tokenexchange.jwt.verified_cache.entries", "{entry}",
		"Entries of the JWT validator's verified-token cache, counting some that have expired.")
	evictions := semconv.Int64ObservableCounter(t.meter, "tokenexchange.jwt.verified_cache.evictions", "{entry}",
		"Entries of the JWT validator's verified-token cache evicted to keep its bounds in entries and bytes.")
	hit := metric.WithAttributeSet(attribute.NewSet(lookupKey.String("hit")))
	miss := metric.WithAttributeSet(attribute.NewSet(lookupKey.String("miss")))
	t.verified.reg = semconv.RegisterCallback(t.meter, func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(lookups, vc.hits.Load(), hit)
		o.ObserveInt64(lookups, vc.misses.Load(), miss)
		o.ObserveInt64(entries, int64(vc.len()))
		o.ObserveInt64(evictions, vc.evictions.Load())
		return nil
	}, lookups, entries, evictions)
}

// stopVerified unregisters the callback of observeVerified, once.
func (t *telemetry) stopVerified() {
	t.verified.once.Do(func() { semconv.Unregister(t.verified.reg) })
}
