package testutil_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// Example starts an authority, obtains a user token with the password
// grant, exchanges it for a token for a downstream API, and calls that API.
func Example() {
	a := testutil.NewAuthority(nil, testutil.Options{})
	defer a.Close()
	a.AddUser("alice", "wonderland")
	a.AddClient(testutil.Client{ID: "web", AuthMethod: "none"})
	a.AddClient(testutil.Client{ID: "gateway", Secret: "s3cret", AuthMethod: "client_secret_post", ExchangeAudiences: []string{"orders"}})
	api := testutil.NewResourceServer(nil, a, "orders")
	defer api.Close()

	var login struct {
		TokenType   string `json:"token_type"`
		AccessToken string `json:"access_token"`
	}
	resp, err := http.PostForm(a.TokenURL(), url.Values{
		"grant_type": {testutil.GrantPassword},
		"client_id":  {"web"},
		"username":   {"alice"},
		"password":   {"wonderland"},
	})
	if err != nil {
		panic(err)
	}
	_ = json.NewDecoder(resp.Body).Decode(&login)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, login.TokenType)

	var exchanged struct {
		AccessToken     string `json:"access_token"`
		IssuedTokenType string `json:"issued_token_type"`
	}
	resp, err = http.PostForm(a.TokenURL(), url.Values{
		"grant_type":         {testutil.GrantTokenExchange},
		"client_id":          {"gateway"},
		"client_secret":      {"s3cret"},
		"subject_token":      {login.AccessToken},
		"subject_token_type": {testutil.TokenTypeAccessToken},
		"audience":           {"orders"},
	})
	if err != nil {
		panic(err)
	}
	_ = json.NewDecoder(resp.Body).Decode(&exchanged)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, exchanged.IssuedTokenType == testutil.TokenTypeAccessToken)

	req, _ := http.NewRequest(http.MethodGet, api.URL+"/orders/42", nil)
	req.Header.Set("Authorization", "Bearer "+exchanged.AccessToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	got := api.Received()[0]
	fmt.Println(resp.StatusCode, got.Subject, got.Audience, a.ExchangesFor("alice"))
	// Output:
	// 200 Bearer
	// 200 true
	// 200 alice [orders] 1
}
