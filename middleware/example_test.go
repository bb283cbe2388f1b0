package middleware_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// Opaque tokens: the middleware only extracts the token and stores it.
func ExampleBearer() {
	mux := http.NewServeMux()
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := middleware.TokenFromContext(r.Context())
		fmt.Fprintf(w, "token of %d bytes", len(tok))
	})
	mux.Handle("GET /hello", middleware.Bearer(middleware.Options{})(hello))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/hello", nil)
	req.Header.Set("Authorization", "Bearer opaque-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body))

	resp, err = http.Get(srv.URL + "/hello")
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	// Output:
	// 200 token of 12 bytes
	// 401 Bearer realm="api"
}

// JWT validation against an authorization server's keys, with a required scope.
func ExampleBearer_validator() {
	auth := testutil.NewAuthority(nil, testutil.Options{})
	defer auth.Close()

	v, err := middleware.NewValidator(context.Background(), middleware.ValidatorConfig{
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
		fmt.Fprintf(w, "hello %s", claims.Subject())
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

// A queue worker acts for the user who queued the job: it puts the user's token
// into the context it passes to outbound calls.
func ExampleNewContext() {
	job := struct{ SubjectToken string }{SubjectToken: "token-from-the-queue"}
	ctx := middleware.NewContext(context.Background(), job.SubjectToken)

	tok, ok := middleware.TokenFromContext(ctx)
	fmt.Println(ok, tok == job.SubjectToken)
	fmt.Println(ctx) // the token is never printed
	// Output:
	// true true
	// context.Background.WithBearerToken(<redacted>)
}
