package authority_test

import (
	"context"
	"fmt"
	"log"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// A resource server asks the authorization server whether an opaque token
// is active (RFC 7662), authenticating as itself; the endpoint comes from
// discovery. Claims holds the answer's JSON object, for
// middleware.ParseClaims; package middleware/introspect builds a cached
// validator on this call.
func ExampleClient_Introspect() {
	as := testutil.NewAuthority(nil, testutil.Options{})
	defer as.Close()
	as.AddClient(testutil.Client{ID: "gateway", Secret: "s3cret"})
	token := as.IssueOpaqueToken(testutil.TokenClaims{Subject: "alice", Audience: []string{"gateway"}})

	client, err := authority.New(authority.Config{
		Issuer: as.Issuer(), ClientID: "gateway", ClientSecret: "s3cret", HTTPClient: as.Client(),
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	in, err := client.Introspect(ctx, authority.NewSubjectToken(token), authority.TokenTypeHintAccessToken)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("active:", in.Active)

	as.Revoke(token)
	in, err = client.Introspect(ctx, authority.NewSubjectToken(token), authority.TokenTypeHintAccessToken)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("after revocation, active:", in.Active)
	// Output:
	// active: true
	// after revocation, active: false
}
