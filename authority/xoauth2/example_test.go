package xoauth2_test

import (
	"context"
	"fmt"
	"log"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/authority/xoauth2"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// An authority.CachedSource behind x/oauth2's HTTP client.
func ExampleTokenSource() {
	as := testutil.NewAuthority(nil, testutil.Options{})
	defer as.Close()
	as.AddClient(testutil.Client{ID: "billing", Secret: "s3cret", ExchangeAudiences: []string{"orders"}})
	orders := testutil.NewResourceServer(nil, as, "orders")
	defer orders.Close()

	client, err := authority.New(authority.Config{TokenURL: as.TokenURL(), ClientID: "billing", ClientSecret: "s3cret", HTTPClient: as.Client()})
	if err != nil {
		log.Fatal(err)
	}
	ts := authority.NewCachedSource(client, authority.ClientCredentialsRequest{Audiences: []string{"orders"}}, authority.CachedSourceOptions{})

	httpClient := oauth2.NewClient(context.Background(), xoauth2.TokenSource(ts))
	resp, err := httpClient.Get(orders.URL + "/orders/7")
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, orders.Received()[0].Subject)
	// Output:
	// 200 billing
}

// An x/oauth2 client credentials source where package authority wants an
// authority.TokenSource (an own-token route, the actor of an exchange).
func ExampleFromOAuth2() {
	as := testutil.NewAuthority(nil, testutil.Options{})
	defer as.Close()
	as.AddClient(testutil.Client{ID: "billing", Secret: "s3cret"})

	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, as.Client())
	cc := clientcredentials.Config{ClientID: "billing", ClientSecret: "s3cret", TokenURL: as.TokenURL(), Scopes: []string{"invoices"}}
	var src authority.TokenSource = xoauth2.FromOAuth2(cc.TokenSource(ctx))

	tok, err := src.Token(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.TokenType, tok.Scope)
	// Output:
	// Bearer invoices
}
