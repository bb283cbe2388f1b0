package introspect_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/middleware/introspect"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// ExampleNew validates opaque tokens of an in-process authorization server
// by introspection, behind middleware.Bearer; a revoked token is refused
// once the cache window has passed.
func ExampleNew() {
	clock := testutil.NewClock(time.Unix(1_800_000_000, 0))
	as := testutil.NewAuthority(nil, testutil.Options{Now: clock.Now})
	defer as.Close()
	as.AddClient(testutil.Client{ID: "gateway", Secret: "gateway-secret"})

	client, err := authority.New(authority.Config{
		Issuer:       as.Issuer(), // introspection_endpoint by discovery
		ClientID:     "gateway",
		ClientSecret: "gateway-secret",
		HTTPClient:   as.Client(),
		Now:          clock.Now,
	})
	if err != nil {
		panic(err)
	}
	v, err := introspect.New(context.Background(), introspect.Config{
		Client:   client,
		Audience: []string{"gateway"},
		Now:      clock.Now,
	})
	if err != nil {
		panic(err)
	}
	defer v.Close()

	handler := middleware.Bearer(middleware.Options{Validator: v})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := middleware.ClaimsFromContext(r.Context())
		fmt.Fprintf(w, "hello %s", claims.Subject)
	}))
	call := func(token string) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"))
			return
		}
		body, _ := io.ReadAll(rec.Body)
		fmt.Println(rec.Code, string(body))
	}

	token := as.IssueOpaqueToken(testutil.TokenClaims{Subject: "alice", Audience: []string{"gateway"}})
	call(token)
	as.Revoke(token)
	call(token) // still cached
	clock.Advance(introspect.DefaultMaxAge)
	call(token)
	_, err = v.Validate(context.Background(), authority.NewSubjectToken(token))
	fmt.Println(errors.Is(err, introspect.ErrInactive), as.Introspections())
	// Output:
	// 200 hello alice
	// 200 hello alice
	// 401 Bearer realm="api", error="invalid_token", error_description="token is not active"
	// true 2
}
