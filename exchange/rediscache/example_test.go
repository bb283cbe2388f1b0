package rediscache_test

import (
	"crypto/rand"
	"log"
	"log/slog"

	"go.opentelemetry.io/otel"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/exchange/rediscache"
)

// A shared, encrypted cache for an Exchanger. The key comes from a secret
// store in a real deployment (32 bytes; list the previous key after it
// while rotating), and so does the URL's password.
func Example() {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	c, err := rediscache.New(rediscache.Options{
		URL:           "redis://127.0.0.1:6379/0",
		Keys:          [][]byte{key},
		Namespace:     "gateway-prod:",
		MeterProvider: otel.GetMeterProvider(),
		Logger:        slog.Default(),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	client, err := authority.New(authority.Config{
		TokenURL:     "https://auth.example.com/token",
		ClientID:     "gateway",
		ClientSecret: "from-a-secret-store",
	})
	if err != nil {
		log.Fatal(err)
	}
	x, err := exchange.New(client, exchange.Options{Cache: c})
	if err != nil {
		log.Fatal(err)
	}
	defer x.Close()
	_ = x // x.Exchange(ctx, subject, target) as usual
}
