package authority_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// Microsoft Entra ID's On-Behalf-Of flow: the middle tier trades the
// caller's token for one for the orders API; a Conditional Access step-up
// comes back as a claims challenge for the caller.
func ExampleClient_OnBehalfOf() {
	as := testutil.NewAuthority(nil, testutil.Options{})
	defer as.Close()
	as.AddClient(testutil.Client{ID: "middle-tier", Secret: "s3cret"})
	as.RequireStepUp("api://payroll/.default", "c1")
	userToken := as.IssueToken(testutil.TokenClaims{Subject: "alice", Audience: []string{"middle-tier"}})

	client, err := authority.New(authority.Config{
		Issuer: as.Issuer(), ClientID: "middle-tier", ClientSecret: "s3cret", HTTPClient: as.Client(),
	})
	if err != nil {
		log.Fatal(err)
	}
	tok, err := client.OnBehalfOf(context.Background(), authority.OnBehalfOfRequest{
		Assertion: userToken,
		Scopes:    []string{"api://orders/.default"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("scope:", tok.Scope)

	_, err = client.OnBehalfOf(context.Background(), authority.OnBehalfOfRequest{
		Assertion: userToken,
		Scopes:    []string{"api://payroll/.default"},
	})
	var ae *authority.Error
	if errors.As(err, &ae) && errors.Is(err, authority.ErrInteractionRequired) {
		fmt.Println("step up with claims:", ae.Claims)
		fmt.Println("header value:", base64.StdEncoding.EncodeToString([]byte(ae.Claims)))
	}
	// Output:
	// scope: api://orders/.default
	// step up with claims: {"access_token":{"acrs":{"essential":true,"value":"c1"}}}
	// header value: eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlIjoiYzEifX19
}
