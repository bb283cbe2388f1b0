package authority_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"log"
	"math/big"
	"net/http"
	"strings"
	"time"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/testutil"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
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
	fmt.Println(tok.IssuedTokenType)

	// The orders service accepts the token: it names alice, for orders.
	orders := testutil.NewResourceServer(nil, as, "orders")
	defer orders.Close()
	req, _ := http.NewRequest(http.MethodGet, orders.URL+"/orders/7", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := orders.Client().Do(req)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	got := orders.Received()[0]
	fmt.Println(resp.StatusCode, got.Subject, got.Audience)
	// Output:
	// urn:ietf:params:oauth:token-type:access_token
	// 200 alice [orders]
}

// Authenticate with private_key_jwt, the key registered as a certificate
// credential (as Entra ID does): any crypto.Signer signs the assertion,
// KeyID names the key, Certificate sends its x5t#S256 thumbprint.
func ExampleNew_privateKeyJWT() {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader) // or an HSM's crypto.Signer
	if err != nil {
		log.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		log.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		log.Fatal(err)
	}
	as := testutil.NewAuthority(nil, testutil.Options{})
	defer as.Close()
	as.AddClient(testutil.Client{ID: "gateway", AuthMethod: "private_key_jwt", KeyID: "gw-2025", Certificate: cert})

	client, err := authority.New(authority.Config{
		TokenURL:    as.TokenURL(),
		ClientID:    "gateway",
		Signer:      key,
		KeyID:       "gw-2025",
		Certificate: cert,
		HTTPClient:  as.Client(),
	})
	if err != nil {
		log.Fatal(err)
	}
	tok, err := client.ClientCredentials(context.Background(), authority.ClientCredentialsRequest{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.TokenType, as.Requests()[0].AuthMethod)
	fmt.Println(strings.Contains(fmt.Sprint(client), "Signer:[redacted]")) // the key never prints
	// Output:
	// Bearer private_key_jwt
	// true
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

// Pass a MeterProvider and a TracerProvider (here the OpenTelemetry SDK's,
// reading metrics on demand and recording spans in memory) to see each
// request to the token endpoint.
func ExampleNew_telemetry() {
	as := testutil.NewAuthority(nil, testutil.Options{})
	defer as.Close()
	as.AddClient(testutil.Client{ID: "gateway", Secret: "s3cret"})

	reader := sdkmetric.NewManualReader()
	meters := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	spans := tracetest.NewSpanRecorder()
	tracers := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	ctx := context.Background()
	defer meters.Shutdown(ctx)
	defer tracers.Shutdown(ctx)

	client, err := authority.New(authority.Config{
		TokenURL:       as.TokenURL(),
		ClientID:       "gateway",
		ClientSecret:   "s3cret",
		HTTPClient:     as.Client(),
		MeterProvider:  meters,
		TracerProvider: tracers,
		Propagator:     propagation.TraceContext{}, // sends traceparent
	})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := client.ClientCredentials(ctx, authority.ClientCredentialsRequest{}); err != nil {
		log.Fatal(err)
	}

	for _, s := range spans.Ended() {
		fmt.Println(s.Name(), s.SpanKind())
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		log.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			for _, p := range m.Data.(metricdata.Histogram[float64]).DataPoints {
				grant, _ := p.Attributes.Value("tokenexchange.grant")
				outcome, _ := p.Attributes.Value("tokenexchange.outcome")
				fmt.Println(m.Name, m.Unit, grant.Emit(), outcome.Emit(), p.Count)
			}
		}
	}
	// Output:
	// tokenexchange.authority.token client
	// tokenexchange.authority.request.duration s client_credentials success 1
}
