package exchange_test

import (
	"context"
	"fmt"
	"log"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// An Exchanger reports to the MeterProvider and TracerProvider it is
// given (here the SDK's, with a manual reader; a program would use an
// exporter, such as Prometheus or OTLP). Without them it reports to the
// global providers.
func ExampleOptions_telemetry() {
	a := testutil.NewAuthority(nil, testutil.Options{})
	defer a.Close()
	a.AddClient(testutil.Client{ID: "gateway", Secret: "s3cret", ExchangeAudiences: []string{"orders-api"}})
	client, err := authority.New(authority.Config{TokenURL: a.TokenURL(), ClientID: "gateway", ClientSecret: "s3cret", HTTPClient: a.Client()})
	if err != nil {
		log.Fatal(err)
	}

	reader := sdkmetric.NewManualReader()
	meters := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer meters.Shutdown(context.Background())
	tracers := sdktrace.NewTracerProvider()
	defer tracers.Shutdown(context.Background())

	x, err := exchange.New(client, exchange.Options{MeterProvider: meters, TracerProvider: tracers})
	if err != nil {
		log.Fatal(err)
	}
	defer x.Close()
	// Target.Name becomes the tokenexchange.target attribute.
	orders, err := exchange.Target{Name: "orders", Audiences: []string{"orders-api"}}.Prepare()
	if err != nil {
		log.Fatal(err)
	}
	subject := authority.NewSubjectToken(a.UserToken("alice", "frontend", "gateway"))
	for range 3 {
		if _, err := x.ExchangePrepared(context.Background(), subject, orders); err != nil {
			log.Fatal(err)
		}
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		log.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "tokenexchange.exchange.cache.lookups" {
				continue
			}
			for _, p := range m.Data.(metricdata.Sum[int64]).DataPoints {
				if l, _ := p.Attributes.Value("tokenexchange.lookup"); p.Value > 0 {
					fmt.Println(l.AsString(), p.Value)
				}
			}
		}
	}
	// Unordered output:
	// hit 2
	// miss 1
}
