package semconv

import (
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
)

// The helpers below make the module's instruments the same way in every
// package: an instrument the provider fails to create is replaced by a
// no-op one and the error goes to otel.Handle, so that telemetry never
// fails a constructor.

// MeterProvider returns mp, or the global MeterProvider when mp is nil.
func MeterProvider(mp metric.MeterProvider) metric.MeterProvider {
	if mp == nil {
		return otel.GetMeterProvider()
	}
	return mp
}

// TracerProvider returns tp, or the global TracerProvider when tp is nil.
func TracerProvider(tp trace.TracerProvider) trace.TracerProvider {
	if tp == nil {
		return otel.GetTracerProvider()
	}
	return tp
}

// Int64Counter creates the counter name of m with unit and description
// desc.
func Int64Counter(m metric.Meter, name, unit, desc string) metric.Int64Counter {
	c, err := m.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
	if err != nil {
		otel.Handle(err)
		return noop.Int64Counter{}
	}
	return c
}

// Float64Histogram creates the duration histogram name of m, in seconds
// ("s") with the [DurationBuckets], and with description desc.
func Float64Histogram(m metric.Meter, name, desc string) metric.Float64Histogram {
	h, err := m.Float64Histogram(name, metric.WithUnit("s"), metric.WithDescription(desc),
		metric.WithExplicitBucketBoundaries(DurationBuckets()...))
	if err != nil {
		otel.Handle(err)
		return noop.Float64Histogram{}
	}
	return h
}

// Int64ObservableCounter creates the observable counter name of m with
// unit and description desc.
func Int64ObservableCounter(m metric.Meter, name, unit, desc string) metric.Int64ObservableCounter {
	c, err := m.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
	if err != nil {
		otel.Handle(err)
		return noop.Int64ObservableCounter{}
	}
	return c
}

// Int64ObservableUpDownCounter creates the observable up-down counter
// name of m with unit and description desc.
func Int64ObservableUpDownCounter(m metric.Meter, name, unit, desc string) metric.Int64ObservableUpDownCounter {
	c, err := m.Int64ObservableUpDownCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
	if err != nil {
		otel.Handle(err)
		return noop.Int64ObservableUpDownCounter{}
	}
	return c
}

// Int64ObservableGauge creates the observable gauge name of m with unit
// and description desc.
func Int64ObservableGauge(m metric.Meter, name, unit, desc string) metric.Int64ObservableGauge {
	g, err := m.Int64ObservableGauge(name, metric.WithUnit(unit), metric.WithDescription(desc))
	if err != nil {
		otel.Handle(err)
		return noop.Int64ObservableGauge{}
	}
	return g
}

// RegisterCallback registers f for the observable instruments insts of
// m and returns its registration, nil when it failed (the error going to
// otel.Handle).
func RegisterCallback(m metric.Meter, f metric.Callback, insts ...metric.Observable) metric.Registration {
	reg, err := m.RegisterCallback(f, insts...)
	if err != nil {
		otel.Handle(err)
		return nil
	}
	return reg
}

// Unregister unregisters reg, when not nil, the error going to
// otel.Handle.
func Unregister(reg metric.Registration) {
	if reg == nil {
		return
	}
	if err := reg.Unregister(); err != nil {
		otel.Handle(err)
	}
}
