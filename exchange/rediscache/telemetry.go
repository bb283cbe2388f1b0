package rediscache

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

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
// the error goes to otel.Handle (see package semconv).
func newTelemetry(mp metric.MeterProvider, b *breaker) *telemetry {
	m := semconv.MeterProvider(mp).Meter(scopeName)
	t := &telemetry{
		ops: semconv.Int64Counter(m, metricOperations, "{operation}",
			"Operations of the Redis cache, by operation and outcome (hit, miss, ok, error, rejected_open while the circuit breaker is open)."),
		duration: semconv.Float64Histogram(m, metricDuration,
			"Duration of the Redis cache operations that reached Redis, by operation and outcome."),
		tampered: semconv.Int64Counter(m, metricTampered, "{entry}",
			"Values read from Redis that were not served and were deleted: failing authentication under a known key (auth_failed), holding an expired entry (expired), or not a value (malformed)."),
	}
	state := semconv.Int64ObservableGauge(m, metricState, "1",
		"State of the Redis circuit breaker: 0 closed (Redis used), 1 half-open (one trial call), 2 open (Redis not called).")
	openings := semconv.Int64ObservableCounter(m, metricOpenings, "{opening}",
		"Times the Redis circuit breaker opened after consecutive failures or a failed trial call.")
	t.reg = semconv.RegisterCallback(m, func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(state, b.state.Load())
		o.ObserveInt64(openings, b.openings.Load())
		return nil
	}, state, openings)
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
