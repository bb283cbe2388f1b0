package exchange_test

import (
	"context"
	"fmt"
	"log"

	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

func Example() {
	// An in-process authorization server, for the example.
	a := testutil.NewAuthority(nil, testutil.Options{})
	defer a.Close()
	a.AddClient(testutil.Client{ID: "gateway", Secret: "s3cret", ExchangeAudiences: []string{"orders-api"}})
	callerToken := a.UserToken("alice", "frontend", "gateway")

	client, err := authority.New(authority.Config{
		TokenURL:     a.TokenURL(),
		ClientID:     "gateway",
		ClientSecret: "s3cret",
		HTTPClient:   a.Client(),
	})
	if err != nil {
		log.Fatal(err)
	}
	x, err := exchange.New(client, exchange.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer x.Close() // stops its background work and its cache's goroutines
	// Prepare a target once, use it for every request.
	orders, err := exchange.Target{Audiences: []string{"orders-api"}}.Prepare()
	if err != nil {
		log.Fatal(err)
	}

	for range 3 {
		tok, err := x.ExchangePrepared(context.Background(), authority.NewSubjectToken(callerToken), orders)
		if err != nil {
			log.Fatal(err)
		}
		claims, _ := jwt.ParseInsecure([]byte(tok.AccessToken))
		fmt.Println(claims.Subject(), claims.Audience())
	}
	st := x.Stats()
	fmt.Printf("exchanges=%d hits=%d\n", st.Exchanges, st.Hits)
	// Output:
	// alice [orders-api]
	// alice [orders-api]
	// alice [orders-api]
	// exchanges=1 hits=2
}
