package jwt_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/middleware/jwt"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// JWT validation against an authorization server's keys, with a required scope.
func ExampleNew() {
	auth := testutil.NewAuthority(nil, testutil.Options{})
	defer auth.Close()

	v, err := jwt.New(context.Background(), jwt.Config{
		Issuer:     auth.Issuer(), // keys found by discovery
		Audience:   []string{"orders"},
		HTTPClient: auth.Client(),
	})
	if err != nil {
		panic(err)
	}
	defer v.Close() // ends a key set fetch in progress
	protect := middleware.Bearer(middleware.Options{Validator: v, RequiredScopes: []string{"orders:read"}})
	srv := httptest.NewServer(protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := middleware.ClaimsFromContext(r.Context())
		fmt.Fprintf(w, "hello %s", claims.Subject)
	})))
	defer srv.Close()

	call := func(token string) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, strings.TrimSpace(string(body)))
	}
	call(auth.IssueToken(testutil.TokenClaims{Subject: "alice", Audience: []string{"orders"}, Scope: "orders:read"}))
	call(auth.IssueToken(testutil.TokenClaims{Subject: "alice", Audience: []string{"orders"}}))
	call(auth.IssueToken(testutil.TokenClaims{Subject: "alice", Audience: []string{"billing"}, Scope: "orders:read"}))
	// Output:
	// 200 hello alice
	// 403 {"error":"insufficient_scope","error_description":"token lacks a required scope","scope":"orders:read"}
	// 401 {"error":"invalid_token","error_description":"audience mismatch"}
}

// Accept only Keycloak access tokens: Keycloak names the kind of a token in
// its "typ" claim, "Bearer" for access tokens and "ID" for ID tokens.
func ExampleConfig_checkClaims() {
	auth := testutil.NewAuthority(nil, testutil.Options{})
	defer auth.Close()

	v, err := jwt.New(context.Background(), jwt.Config{
		Issuer:     auth.Issuer(),
		Audience:   []string{"orders"},
		HTTPClient: auth.Client(),
		CheckClaims: func(_ context.Context, c *middleware.Claims) error {
			var kc struct {
				Typ string `json:"typ"`
			}
			if err := c.Decode(&kc); err != nil || kc.Typ != "Bearer" {
				return errors.New("not an access token")
			}
			return nil
		},
	})
	if err != nil {
		panic(err)
	}
	defer v.Close()

	for _, typ := range []string{"Bearer", "ID"} {
		tok := auth.IssueToken(testutil.TokenClaims{Subject: "alice", Audience: []string{"orders"}, Extra: map[string]any{"typ": typ}})
		claims, err := v.Validate(context.Background(), authority.NewSubjectToken(tok))
		if err != nil {
			fmt.Println(typ, "refused:", err, errors.Is(err, middleware.ErrRejected))
			continue
		}
		fmt.Println(typ, "accepted for", claims.Subject)
	}
	// Output:
	// Bearer accepted for alice
	// ID refused: middleware: invalid_token: token rejected by policy true
}
