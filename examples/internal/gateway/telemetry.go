package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/otlptranslator"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// telemetry is the gateway's own metrics pipeline: an OpenTelemetry SDK
// MeterProvider, handed to every component, whose instruments the
// Prometheus exporter writes into a registry of the gateway's own (never
// the global one, so that two gateways in one process do not share),
// beside the Go runtime and process collectors.
type telemetry struct {
	provider *sdkmetric.MeterProvider
	handler  http.Handler // serves the registry in the Prometheus text format
}

// newTelemetry builds the registry, the exporter and the MeterProvider.
func newTelemetry() (*telemetry, error) {
	reg := prometheus.NewRegistry()
	if err := errors.Join(
		reg.Register(collectors.NewGoCollector()),
		reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})),
	); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	exp, err := otelprom.New(
		otelprom.WithRegisterer(reg),
		// Prometheus names, whatever the process-wide validation scheme:
		// tokenexchange.exchange.duration in "s" is scraped as
		// tokenexchange_exchange_duration_seconds, counters end in _total.
		otelprom.WithTranslationStrategy(otlptranslator.UnderscoreEscapingWithSuffixes),
	)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return &telemetry{
		provider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp)),
		handler:  promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}),
	}, nil
}

// shutdown stops the MeterProvider: the components' callbacks are no
// longer called and /metrics serves the collectors only.
func (t *telemetry) shutdown(ctx context.Context) error {
	return t.provider.Shutdown(ctx)
}

// Metrics serves the gateway's metrics in the Prometheus text format: the
// instruments of every component (authority client, exchanger, inbound
// middleware and validator, outbound transport), named as the package
// documentation lists them with dots turned into underscores and the
// unit and _total suffixes Prometheus expects, plus the Go runtime
// (go_*) and process (process_*) collectors. It needs no token; its
// values hold no token, subject or path, only names from a closed set
// and from the configuration. Expose it to the scraper, not to the
// internet.
func (g *Gateway) Metrics(w http.ResponseWriter, r *http.Request) {
	g.telemetry.handler.ServeHTTP(w, r)
}
