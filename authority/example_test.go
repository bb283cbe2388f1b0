package authority_test

import (
	"context"
	"fmt"
	"log"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/testutil"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

// Exchange a user's token for one issued to the "orders" service.
func ExampleClient_Exchange() {
	as := testutil.NewAuthority(nil, testutil.Options{})
	defer as.Close()
	as.AddClient(testutil.Client{ID: "gateway", Secret: "s3cret", ExchangeAudiences: []string{"orders"}})
	userToken := as.UserToken("alice", "web-app", "gateway")

	client, err := authority.New(authority.Config{
		Issuer:       as.Issuer(), // the token endpoint is found by discovery
		ClientID:     "gateway",
		ClientSecret: "s3cret",
		HTTPClient:   as.Client(),
	})
	if err != nil {
		log.Fatal(err)
	}
	tok, err := client.Exchange(context.Background(), authority.ExchangeRequest{
		SubjectToken: userToken,
		Audiences:    []string{"orders"},
	})
	if err != nil {
		log.Fatal(err)
	}
	claims, _ := jwt.ParseInsecure([]byte(tok.AccessToken))
	fmt.Println(tok.IssuedTokenType)
	fmt.Println(claims.Subject(), claims.Audience())
	// Output:
	// urn:ietf:params:oauth:token-type:access_token
	// alice [orders]
}

// A service's own token by client credentials, cached and renewed.
func ExampleCachedSource() {
	as := testutil.NewAuthority(nil, testutil.Options{})
	defer as.Close()
	as.AddClient(testutil.Client{ID: "billing", Secret: "s3cret"})

	client, err := authority.New(authority.Config{TokenURL: as.TokenURL(), ClientID: "billing", ClientSecret: "s3cret", HTTPClient: as.Client()})
	if err != nil {
		log.Fatal(err)
	}
	ts := authority.NewCachedSource(client, authority.ClientCredentialsRequest{Scopes: []string{"invoices"}}, authority.CachedSourceOptions{})
	for range 3 {
		if _, err := ts.Token(context.Background()); err != nil {
			log.Fatal(err)
		}
	}
	tok, _ := ts.Token(context.Background())
	fmt.Println(tok.Scope, as.Count(authority.GrantClientCredentials))
	fmt.Println(authority.Token{AccessToken: tok.AccessToken, TokenType: tok.TokenType}) // secrets never print
	// Output:
	// invoices 1
	// authority.Token{type=Bearer access_token=[redacted] refresh_token=none}
}
