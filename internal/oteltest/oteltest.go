// Package oteltest reads what the packages of this module report through
// OpenTelemetry, for their tests: metrics through the SDK's manual reader,
// spans through its in-memory recorder, and every string either holds,
// for the tests that search them for tokens.
package oteltest

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// Metrics is a MeterProvider whose metrics a test collects on demand.
type Metrics struct {
	Provider *sdkmetric.MeterProvider
	Reader   *sdkmetric.ManualReader
}

// NewMetrics returns a MeterProvider with a manual reader, shut down when
// the test ends.
func NewMetrics(tb testing.TB) *Metrics {
	r := sdkmetric.NewManualReader()
	p := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	tb.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	return &Metrics{Provider: p, Reader: r}
}

// Collect reads every metric now.
func (m *Metrics) Collect(tb testing.TB) metricdata.ResourceMetrics {
	tb.Helper()
	var rm metricdata.ResourceMetrics
	if err := m.Reader.Collect(context.Background(), &rm); err != nil {
		tb.Fatalf("oteltest: collect: %v", err)
	}
	return rm
}

// Find returns the metric named name, and whether there is one.
func (m *Metrics) Find(tb testing.TB, name string) (metricdata.Metrics, bool) {
	tb.Helper()
	for _, sm := range m.Collect(tb).ScopeMetrics {
		for _, mt := range sm.Metrics {
			if mt.Name == name {
				return mt, true
			}
		}
	}
	return metricdata.Metrics{}, false
}

// Int64 returns the sum of the int64 data points (counter, up-down
// counter or gauge) of the metric named name whose attributes include
// every one of attrs; 0 when there is none.
func (m *Metrics) Int64(tb testing.TB, name string, attrs ...attribute.KeyValue) int64 {
	tb.Helper()
	mt, ok := m.Find(tb, name)
	if !ok {
		return 0
	}
	var n int64
	switch d := mt.Data.(type) {
	case metricdata.Sum[int64]:
		for _, p := range d.DataPoints {
			if has(p.Attributes, attrs) {
				n += p.Value
			}
		}
	case metricdata.Gauge[int64]:
		for _, p := range d.DataPoints {
			if has(p.Attributes, attrs) {
				n += p.Value
			}
		}
	default:
		tb.Fatalf("oteltest: %s is a %T, not an int64 sum or gauge", name, mt.Data)
	}
	return n
}

// HistogramCount returns the number of measurements of the float64
// histogram named name whose attributes include every one of attrs.
func (m *Metrics) HistogramCount(tb testing.TB, name string, attrs ...attribute.KeyValue) uint64 {
	tb.Helper()
	mt, ok := m.Find(tb, name)
	if !ok {
		return 0
	}
	d, ok := mt.Data.(metricdata.Histogram[float64])
	if !ok {
		tb.Fatalf("oteltest: %s is a %T, not a float64 histogram", name, mt.Data)
	}
	var n uint64
	for _, p := range d.DataPoints {
		if has(p.Attributes, attrs) {
			n += p.Count
		}
	}
	return n
}

// Strings returns every string the collected metrics hold: scope, metric
// names, descriptions, units, and each attribute's key and value.
func (m *Metrics) Strings(tb testing.TB) []string {
	tb.Helper()
	rm := m.Collect(tb)
	var out []string
	add := func(s attribute.Set) {
		for _, kv := range s.ToSlice() {
			out = append(out, string(kv.Key), kv.Value.Emit())
		}
	}
	add(*rm.Resource.Set())
	for _, sm := range rm.ScopeMetrics {
		out = append(out, sm.Scope.Name, sm.Scope.Version)
		for _, mt := range sm.Metrics {
			out = append(out, mt.Name, mt.Description, mt.Unit)
			switch d := mt.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					add(p.Attributes)
				}
			case metricdata.Sum[float64]:
				for _, p := range d.DataPoints {
					add(p.Attributes)
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					add(p.Attributes)
				}
			case metricdata.Gauge[float64]:
				for _, p := range d.DataPoints {
					add(p.Attributes)
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					add(p.Attributes)
				}
			default:
				out = append(out, fmt.Sprintf("%+v", d))
			}
		}
	}
	return out
}

func has(set attribute.Set, attrs []attribute.KeyValue) bool {
	for _, a := range attrs {
		v, ok := set.Value(a.Key)
		if !ok || v != a.Value {
			return false
		}
	}
	return true
}

// Traces is a TracerProvider whose ended spans a test reads.
type Traces struct {
	Provider *sdktrace.TracerProvider
	Recorder *tracetest.SpanRecorder
}

// NewTraces returns a TracerProvider that samples every span and records
// it, shut down when the test ends.
func NewTraces(tb testing.TB) *Traces {
	rec := tracetest.NewSpanRecorder()
	p := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithSpanProcessor(rec))
	tb.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	return &Traces{Provider: p, Recorder: rec}
}

// Ended returns the ended spans named name, or all of them when name is
// empty, in the order they ended.
func (t *Traces) Ended(name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range t.Recorder.Ended() {
		if name == "" || s.Name() == name {
			out = append(out, s)
		}
	}
	return out
}

// Strings returns every string the ended spans hold: names, status
// descriptions, and the keys and values of their attributes, events,
// links and resources.
func (t *Traces) Strings() []string {
	var out []string
	add := func(kvs []attribute.KeyValue) {
		for _, kv := range kvs {
			out = append(out, string(kv.Key), kv.Value.Emit())
		}
	}
	for _, s := range t.Recorder.Ended() {
		out = append(out, s.Name(), s.Status().Description, s.InstrumentationScope().Name)
		add(s.Attributes())
		add(s.Resource().Attributes())
		for _, e := range s.Events() {
			out = append(out, e.Name)
			add(e.Attributes)
		}
		for _, l := range s.Links() {
			add(l.Attributes)
		}
	}
	return out
}

// Attr returns the value of the attribute key of span s as a string, and
// whether it has one.
func Attr(s sdktrace.ReadOnlySpan, key attribute.Key) (string, bool) {
	i := slices.IndexFunc(s.Attributes(), func(kv attribute.KeyValue) bool { return kv.Key == key })
	if i < 0 {
		return "", false
	}
	return s.Attributes()[i].Value.Emit(), true
}
