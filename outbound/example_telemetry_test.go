package outbound_test

import (
	"context"
	"fmt"
	"log"
	"net/http"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/go-tokenexchange/tokenexchange/outbound"
)

// Pass a MeterProvider (here the OpenTelemetry SDK's, read on demand) to
// count what the transport refuses and retries, by route.
func ExampleNew_telemetry() {
	reader := sdkmetric.NewManualReader()
	meters := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer meters.Shutdown(context.Background())

	tr, err := outbound.New(outbound.Options{
		MeterProvider: meters,
		Routes:        []outbound.Route{{Name: "orders", URL: "https://orders.internal", Mode: outbound.ModeNone}},
	})
	if err != nil {
		log.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, "https://unknown.internal/x", nil)
	if _, err := tr.RoundTrip(req); err != nil {
		status, _ := outbound.StatusFor(err)
		fmt.Println(status)
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		log.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			for _, p := range m.Data.(metricdata.Sum[int64]).DataPoints {
				reason, _ := p.Attributes.Value("tokenexchange.reason")
				fmt.Println(m.Name, reason.Emit(), p.Value)
			}
		}
	}
	// Output:
	// 502
	// tokenexchange.outbound.errors no_route 1
}
