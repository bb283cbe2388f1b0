package outbound_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/outbound"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// A gateway: the middleware takes the caller's token, a ReverseProxy
// forwards the request, and the Transport replaces the caller's token with
// one exchanged for the backend. Requests to paths no route names, and
// callers whose token the authority refuses, get a clean error.
func Example_reverseProxy() {
	as := testutil.NewAuthority(nil, testutil.Options{})
	defer as.Close()
	as.AddClient(testutil.Client{ID: "gateway", Secret: "s3cret", ExchangeAudiences: []string{"orders"}})
	orders := testutil.NewResourceServer(nil, as, "orders")
	defer orders.Close()

	client, err := authority.New(authority.Config{TokenURL: as.TokenURL(), ClientID: "gateway", ClientSecret: "s3cret", HTTPClient: as.Client()})
	if err != nil {
		log.Fatal(err)
	}
	x, err := exchange.New(client, exchange.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer x.Close()
	tr, err := outbound.New(outbound.Options{
		Exchanger: x,
		Routes: []outbound.Route{{
			URL:    orders.URL + "/orders",
			Mode:   outbound.ModeExchange,
			Target: exchange.Target{Audiences: []string{"orders"}},
		}},
	})
	if err != nil {
		log.Fatal(err)
	}
	backend, _ := url.Parse(orders.URL)
	proxy := outbound.NewReverseProxy(backend, tr, nil) // pass a *slog.Logger to see why a request failed
	gateway := httptest.NewServer(middleware.Bearer(middleware.Options{})(proxy))
	defer gateway.Close()

	call := func(path, token string) {
		req, _ := http.NewRequest(http.MethodGet, gateway.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		fmt.Println(resp.StatusCode, resp.Header.Get("WWW-Authenticate"), strings.TrimSpace(string(body)))
	}
	alice := as.UserToken("alice", "web")
	call("/orders/42", alice)
	call("/admin", alice)
	expired := as.IssueToken(testutil.TokenClaims{Subject: "bob", IssuedAt: time.Now().Add(-time.Hour), Expiry: time.Now().Add(-time.Minute)})
	call("/orders/42", expired)
	fmt.Println("the backend saw the caller's token:", orders.Received()[0].Token == alice)
	// Output:
	// 200  {"act":[],"audience":"orders","path":"/orders/42","scope":"","sub":"alice"}
	// 502  {"error":"bad_gateway","error_description":"Bad Gateway"}
	// 401 Bearer error="invalid_token" {"error":"invalid_token","error_description":"Unauthorized"}
	// the backend saw the caller's token: false
}

// A service calls another one with a plain http.Client, passing on the
// incoming request's context: the Transport finds the caller's token there
// and exchanges it. Calls to the billing service carry the service's own
// token instead.
func Example_client() {
	as := testutil.NewAuthority(nil, testutil.Options{})
	defer as.Close()
	as.AddClient(testutil.Client{ID: "shop", Secret: "s3cret", ExchangeAudiences: []string{"orders", "billing"}})
	orders := testutil.NewResourceServer(nil, as, "orders")
	defer orders.Close()
	billing := testutil.NewResourceServer(nil, as, "billing")
	defer billing.Close()

	client, err := authority.New(authority.Config{TokenURL: as.TokenURL(), ClientID: "shop", ClientSecret: "s3cret", HTTPClient: as.Client()})
	if err != nil {
		log.Fatal(err)
	}
	x, err := exchange.New(client, exchange.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer x.Close()
	tr, err := outbound.New(outbound.Options{
		Exchanger: x,
		Routes: []outbound.Route{
			{URL: orders.URL, Mode: outbound.ModeExchange, Target: exchange.Target{Audiences: []string{"orders"}}},
			{URL: billing.URL, Mode: outbound.ModeOwnToken, Tokens: authority.NewCachedSource(client,
				authority.ClientCredentialsRequest{Audiences: []string{"billing"}}, authority.CachedSourceOptions{})},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	api := &http.Client{Transport: tr, Timeout: 10 * time.Second}

	shop := httptest.NewServer(middleware.Bearer(middleware.Options{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, u := range []string{orders.URL + "/orders/42", billing.URL + "/invoices/7"} {
			req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, u, nil)
			resp, err := api.Do(req)
			if err != nil {
				outbound.WriteError(w, r, err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		fmt.Fprintln(w, "ok")
	})))
	defer shop.Close()

	req, _ := http.NewRequest(http.MethodPost, shop.URL+"/checkout", nil)
	req.Header.Set("Authorization", "Bearer "+as.UserToken("alice", "web"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	o, b := orders.Received()[0], billing.Received()[0]
	fmt.Println(resp.StatusCode)
	fmt.Println("orders:", o.Subject, o.Audience, o.ClientID)
	fmt.Println("billing:", b.Subject, b.Audience)
	// Output:
	// 200
	// orders: alice [orders] shop
	// billing: shop [billing]
}

// The README's outbound snippet: a reverse proxy over the transport, behind
// the middleware. NewReverseProxy sets the backend's URL and Host, the
// X-Forwarded headers and the error handler.
func ExampleNewReverseProxy() {
	as := testutil.NewAuthority(nil, testutil.Options{})
	defer as.Close()
	as.AddClient(testutil.Client{ID: "gateway", Secret: "s3cret", ExchangeAudiences: []string{"orders"}})
	orders := testutil.NewResourceServer(nil, as, "orders")
	defer orders.Close()
	client, err := authority.New(authority.Config{TokenURL: as.TokenURL(), ClientID: "gateway", ClientSecret: "s3cret", HTTPClient: as.Client()})
	if err != nil {
		log.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)

	x, err := exchange.New(client, exchange.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer x.Close()
	tr, err := outbound.New(outbound.Options{
		Exchanger: x,
		Routes: []outbound.Route{{
			URL:    orders.URL + "/api",
			Mode:   outbound.ModeExchange,
			Target: exchange.Target{Audiences: []string{"orders"}},
		}},
	})
	if err != nil {
		log.Fatal(err)
	}
	backend, _ := url.Parse(orders.URL)
	proxy := outbound.NewReverseProxy(backend, tr, logger)
	gateway := httptest.NewServer(middleware.Bearer(middleware.Options{})(proxy))
	defer gateway.Close()

	req, _ := http.NewRequest(http.MethodGet, gateway.URL+"/api/orders/42", nil)
	req.Header.Set("Authorization", "Bearer "+as.UserToken("alice", "web"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	got := orders.Received()[0]
	fmt.Println(resp.StatusCode, got.Subject, got.Audience, got.Host == backend.Host)
	// Output:
	// 200 alice [orders] true
}

// A handler answers a failed outbound call with WriteError. This one
// builds its request with context.Background() instead of r.Context(), so
// the transport cannot find the caller's token: ErrNoInboundContext, 500
// (and an Error line in the transport's log), not a 401 blaming the
// caller.
func ExampleWriteError() {
	tr, err := outbound.New(outbound.Options{
		Routes: []outbound.Route{{URL: "https://profile.internal", Mode: outbound.ModePassThrough}},
	})
	if err != nil {
		log.Fatal(err)
	}
	api := &http.Client{Transport: tr}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "https://profile.internal/me", nil) // should be r.Context()
		resp, err := api.Do(req)
		if err != nil {
			fmt.Println(errors.Is(err, outbound.ErrNoInboundContext))
			outbound.WriteError(w, r, err)
			return
		}
		resp.Body.Close()
	})

	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "http://gateway/me", nil)
	req.Header.Set("Authorization", "Bearer some-token")
	middleware.Bearer(middleware.Options{})(handler).ServeHTTP(rec, req)
	fmt.Println(rec.Code, strings.TrimSpace(rec.Body.String()))
	// Output:
	// true
	// 500 {"error":"server_error","error_description":"Internal Server Error"}
}
