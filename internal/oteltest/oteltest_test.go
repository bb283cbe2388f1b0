package oteltest

import (
	"context"
	"slices"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestMetricsAndTraces(t *testing.T) {
	ctx := context.Background()
	m := NewMetrics(t)
	meter := m.Provider.Meter("test")
	c, _ := meter.Int64Counter("c")
	c.Add(ctx, 2, metric.WithAttributes(attribute.String("k", "a")))
	c.Add(ctx, 3, metric.WithAttributes(attribute.String("k", "b")))
	h, _ := meter.Float64Histogram("h")
	h.Record(ctx, 0.5, metric.WithAttributes(attribute.String("k", "a")))

	if got := m.Int64(t, "c"); got != 5 {
		t.Errorf("Int64(c) = %d, want 5", got)
	}
	if got := m.Int64(t, "c", attribute.String("k", "b")); got != 3 {
		t.Errorf("Int64(c, k=b) = %d, want 3", got)
	}
	if got := m.Int64(t, "absent"); got != 0 {
		t.Errorf("Int64(absent) = %d", got)
	}
	if got := m.HistogramCount(t, "h", attribute.String("k", "a")); got != 1 {
		t.Errorf("HistogramCount(h) = %d, want 1", got)
	}
	if s := m.Strings(t); !slices.Contains(s, "b") || !slices.Contains(s, "h") {
		t.Errorf("Strings() = %q lacks an attribute value or a name", s)
	}

	tr := NewTraces(t)
	_, span := tr.Provider.Tracer("test").Start(ctx, "op")
	span.SetAttributes(attribute.String("x", "y"))
	span.End()
	ended := tr.Ended("op")
	if len(ended) != 1 {
		t.Fatalf("Ended(op) = %d spans", len(ended))
	}
	if v, ok := Attr(ended[0], "x"); !ok || v != "y" {
		t.Errorf("Attr(x) = %q, %v", v, ok)
	}
	if s := tr.Strings(); !slices.Contains(s, "y") {
		t.Errorf("Strings() = %q lacks y", s)
	}
}
