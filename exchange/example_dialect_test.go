package exchange_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// A target of Microsoft Entra ID's On-Behalf-Of dialect names its API by
// scope, and takes no audience, resource or actor; its tokens are cached
// and single-flighted like RFC 8693 exchanges, under keys of their own.
func ExampleTarget_dialect() {
	a := testutil.NewAuthority(nil, testutil.Options{})
	defer a.Close()
	a.AddClient(testutil.Client{ID: "middle-tier", Secret: "s3cret"})
	callerToken := a.IssueToken(testutil.TokenClaims{Subject: "alice", Audience: []string{"middle-tier"}})

	client, err := authority.New(authority.Config{
		Issuer: a.Issuer(), ClientID: "middle-tier", ClientSecret: "s3cret", HTTPClient: a.Client(),
	})
	if err != nil {
		log.Fatal(err)
	}
	x, err := exchange.New(client, exchange.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer x.Close()

	orders, err := exchange.Target{Dialect: exchange.DialectEntraOBO, Scopes: []string{"api://orders/.default"}}.Prepare()
	if err != nil {
		log.Fatal(err)
	}
	for range 2 {
		tok, err := x.ExchangePrepared(context.Background(), authority.NewSubjectToken(callerToken), orders)
		if err != nil {
			log.Fatal(err)
		}
		claims, _ := jwt.ParseInsecure([]byte(tok.AccessToken))
		fmt.Println(claims.Subject(), claims.Audience())
	}
	fmt.Println("requests to the authority:", x.Stats().Exchanges)

	_, err = exchange.Target{Dialect: exchange.DialectEntraOBO, Audiences: []string{"orders"}}.Prepare()
	fmt.Println("audience on an On-Behalf-Of target refused:", errors.Is(err, exchange.ErrDialectField))
	// Output:
	// alice [api://orders]
	// alice [api://orders]
	// requests to the authority: 1
	// audience on an On-Behalf-Of target refused: true
}
