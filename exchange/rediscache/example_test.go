package rediscache_test

import (
	"crypto/rand"
	"log"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/exchange/rediscache"
)

// A shared, encrypted second tier for the Exchangers of a fleet of
// gateways. The key comes from a secret
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
	// The Cache is the fleet's second tier, behind each replica's
	// in-process cache; as an exchange.Coordinator it also gives the fleet
	// one exchange per key, one refresh, and fleet-wide invalidation.
	x, err := exchange.New(client, exchange.Options{
		Shared:     c,
		SharedWait: 2 * time.Second, // then a replica exchanges by itself
	})
	if err != nil {
		log.Fatal(err)
	}
	defer x.Close()
	_ = x // x.Exchange(ctx, subject, target) as usual
}
