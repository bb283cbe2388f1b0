package rediscache

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/go-tokenexchange/tokenexchange/internal/semconv"
)

// scopeName is the instrumentation scope of the package's meter.
const scopeName = "github.com/go-tokenexchange/tokenexchange/exchange/rediscache"

// Attribute keys of the package's instruments.
const (
	operationKey = semconv.Operation
	outcomeKey   = semconv.Outcome
	reasonKey    = semconv.Reason
)

// Instrument names.
const (
	metricOperations = "tokenexchange.rediscache.operations"
	metricDuration   = "tokenexchange.rediscache.operation.duration"
	metricTampered   = "tokenexchange.rediscache.tampered"
	metricState      = "tokenexchange.rediscache.breaker.state"
	metricOpenings   = "tokenexchange.rediscache.breaker.openings"
)

// op is an operation of the Cache: an index into opNames.
type op int

const (
	opGet op = iota
	opSet
	opDelete
	opCompareAndDelete
	opLock
	opUnlock
	opPublish
	opReceive
	opSubscribe
	opRememberRefusal
	opRecallRefusal
	numOps
)

var opNames = [numOps]string{
	opGet:              "get",
	opSet:              "set",
	opDelete:           "delete",
	opCompareAndDelete: "compare_and_delete",
	opLock:             "lock",
	opUnlock:           "unlock",
	opPublish:          "publish",
	opReceive:          "receive",
	opSubscribe:        "subscribe",
	opRememberRefusal:  "remember_refusal",
	opRecallRefusal:    "recall_refusal",
}

// outcome is how an operation ended: an index into outcomeNames.
type outcome int

const (
	outcomeHit outcome = iota
	outcomeMiss
	outcomeOK
	outcomeError
	outcomeRejectedOpen
	numOutcomes
)

var outcomeNames = [numOutcomes]string{
	outcomeHit:          "hit",
	outcomeMiss:         "miss",
	outcomeOK:           "ok",
	outcomeError:        "error",
	outcomeRejectedOpen: "rejected_open",
}

// tamperReason is why a value was deleted on reading: an index into
// tamperNames.
type tamperReason int

const (
	tamperAuthFailed tamperReason = iota
	tamperExpired
	tamperMalformed
	numTamperReasons
)

var tamperNames = [numTamperReasons]string{
	tamperAuthFailed: "auth_failed",
	tamperExpired:    "expired",
	tamperMalformed:  "malformed",
}

// telemetry holds the instruments and the attribute options computed at
// construction.
type telemetry struct {
	ops      metric.Int64Counter
	duration metric.Float64Histogram
	tampered metric.Int64Counter
	reg      metric.Registration // of the observable instruments; nil if none

	opOpts     [numOps][numOutcomes][]metric.AddOption
	durOpts    [numOps][numOutcomes][]metric.RecordOption
	tamperOpts [numTamperReasons][]metric.AddOption
}

// newTelemetry creates the instruments on mp (the global provider when
// nil). An instrument that cannot be created is replaced by a no-op one;
// the error goes to otel.Handle.
func newTelemetry(mp metric.MeterProvider, b *breaker) *telemetry {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(scopeName)
	t := &telemetry{}
	var err error
	if t.ops, err = m.Int64Counter(metricOperations,
		metric.WithDescription("Operations of the Redis cache, by operation and outcome (hit, miss, ok, error, rejected_open while the circuit breaker is open)."),
		metric.WithUnit("{operation}")); err != nil {
		otel.Handle(err)
		t.ops = noop.Int64Counter{}
	}
	if t.duration, err = m.Float64Histogram(metricDuration,
		metric.WithDescription("Duration of the Redis cache operations that reached Redis, by operation and outcome."),
		metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(semconv.DurationBuckets()...)); err != nil {
		otel.Handle(err)
		t.duration = noop.Float64Histogram{}
	}
	if t.tampered, err = m.Int64Counter(metricTampered,
		metric.WithDescription("Values read from Redis that were not served and were deleted: failing authentication under a known key (auth_failed), holding an expired entry (expired), or not a value (malformed)."),
		metric.WithUnit("{entry}")); err != nil {
		otel.Handle(err)
		t.tampered = noop.Int64Counter{}
	}
	state, err := m.Int64ObservableGauge(metricState,
		metric.WithDescription("State of the Redis circuit breaker: 0 closed (Redis used), 1 half-open (one trial call), 2 open (Redis not called)."),
		metric.WithUnit("1"))
	if err != nil {
		otel.Handle(err)
	}
	openings, err2 := m.Int64ObservableCounter(metricOpenings,
		metric.WithDescription("Times the Redis circuit breaker opened after consecutive failures or a failed trial call."),
		metric.WithUnit("{opening}"))
	if err2 != nil {
		otel.Handle(err2)
	}
	if err == nil && err2 == nil {
		reg, err := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
			o.ObserveInt64(state, b.state.Load())
			o.ObserveInt64(openings, b.openings.Load())
			return nil
		}, state, openings)
		if err != nil {
			otel.Handle(err)
		} else {
			t.reg = reg
		}
	}
	for o := range numOps {
		for oc := range numOutcomes {
			set := attribute.NewSet(operationKey.String(opNames[o]), outcomeKey.String(outcomeNames[oc]))
			t.opOpts[o][oc] = []metric.AddOption{metric.WithAttributeSet(set)}
			t.durOpts[o][oc] = []metric.RecordOption{metric.WithAttributeSet(set)}
		}
	}
	for r := range numTamperReasons {
		t.tamperOpts[r] = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(reasonKey.String(tamperNames[r])))}
	}
	return t
}

// record counts an operation that ended with oc; since is when it
// reached out to Redis (zero when it did not, as when rejected).
func (t *telemetry) record(ctx context.Context, o op, oc outcome, since time.Time) {
	t.ops.Add(ctx, 1, t.opOpts[o][oc]...)
	if !since.IsZero() {
		t.duration.Record(ctx, time.Since(since).Seconds(), t.durOpts[o][oc]...)
	}
}

// countTampered counts a value deleted for r.
func (t *telemetry) countTampered(ctx context.Context, r tamperReason) {
	t.tampered.Add(ctx, 1, t.tamperOpts[r]...)
}

// close unregisters the observable instruments' callback.
func (t *telemetry) close() error {
	if t.reg == nil {
		return nil
	}
	return errors.Join(t.reg.Unregister())
}
