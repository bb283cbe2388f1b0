package middleware_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/middleware"
)

// A resource publishes its RFC 9728 metadata and points to it from every
// challenge, so that a client (an MCP client, for one) can find the
// authorization server that issues its tokens.
func ExampleNewProtectedResourceHandler() {
	meta, err := middleware.NewProtectedResourceHandler(middleware.ProtectedResource{
		Resource:             "https://api.example/orders",
		AuthorizationServers: []string{"https://as.example/realms/demo"},
		ScopesSupported:      []string{"orders:read"},
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+meta.Path(), meta)
	protect := middleware.Bearer(middleware.Options{ResourceMetadata: meta.URL()})
	mux.Handle("/orders/", protect(http.NotFoundHandler()))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/orders/42")
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("WWW-Authenticate"))

	resp, err = http.Get(srv.URL + meta.Path())
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Print(resp.Header.Get("Content-Type"), " ", string(body))
	// Output:
	// 401 Bearer realm="api", resource_metadata="https://api.example/.well-known/oauth-protected-resource/orders"
	// application/json {"resource":"https://api.example/orders","authorization_servers":["https://as.example/realms/demo"],"scopes_supported":["orders:read"],"bearer_methods_supported":["header"]}
}

// ByShape sends JWTs to one validator (package middleware/jwt, in a real
// service) and other tokens to another (RFC 7662 introspection, package
// middleware/introspect); here two stand-ins that name themselves.
func ExampleByShape() {
	jwts := validatorFunc(func(context.Context, authority.SubjectToken) (*middleware.Claims, error) {
		return &middleware.Claims{Subject: "checked by the JWT validator"}, nil
	})
	opaque := validatorFunc(func(context.Context, authority.SubjectToken) (*middleware.Claims, error) {
		return &middleware.Claims{Subject: "checked by introspection"}, nil
	})
	v := middleware.ByShape(jwts, opaque)
	for _, tok := range []string{"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln", "2YotnFZFEjr1zCsicMWpAA"} {
		c, err := v.Validate(context.Background(), authority.NewSubjectToken(tok))
		fmt.Println(c.Subject, err)
	}
	// Output:
	// checked by the JWT validator <nil>
	// checked by introspection <nil>
}
