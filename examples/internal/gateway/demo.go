package gateway

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// Names and credentials of the embedded demo. They are printed by the
// walkthrough: nothing here is a secret.
const (
	DemoGatewayID     = "gateway"        // the gateway's client_id
	DemoGatewaySecret = "gateway-secret" // its client secret
	DemoLoginClient   = "cli"            // the public client users log in with
	DemoUser          = "alice"          // the demo user
	DemoPassword      = "alice-password" // her password
)

// demoTokenLifetime is the lifetime of the demo's tokens, long enough to
// try the printed curl commands.
const demoTokenLifetime = 15 * time.Minute

// Demo is the embedded authority and the two downstream services, orders
// and billing, that the gateway fronts when no authority is configured.
type Demo struct {
	// Authority is the in-process authorization server.
	Authority *testutil.Authority
	// Orders and Billing are the downstream services; each accepts only
	// tokens whose aud names it.
	Orders, Billing *testutil.ResourceServer
}

// StartDemo starts the embedded authority and services on loopback. The
// gateway client may exchange for orders and billing; the user logs in
// through the public client cli for the audience gateway. Call Close.
func StartDemo() *Demo {
	a := testutil.NewAuthority(nil, testutil.Options{TokenLifetime: demoTokenLifetime})
	a.AddClient(testutil.Client{ID: DemoGatewayID, Secret: DemoGatewaySecret, ExchangeAudiences: []string{"orders", "billing"}})
	a.AddClient(testutil.Client{ID: DemoLoginClient, AuthMethod: testutil.AuthNone, ExchangeAudiences: []string{DemoGatewayID}})
	a.AddUser(DemoUser, DemoPassword)
	return &Demo{
		Authority: a,
		Orders:    testutil.NewResourceServer(nil, a, "orders"),
		Billing:   testutil.NewResourceServer(nil, a, "billing"),
	}
}

// Close stops the services and the authority.
func (d *Demo) Close() {
	d.Orders.Close()
	d.Billing.Close()
	d.Authority.Close()
}

// Configure returns cfg pointed at the demo: its authority, inbound
// validation against its keys, and two routes. Orders gets an exchanged
// token for aud orders with scope orders.read and the gateway as actor;
// billing one for aud billing with scope billing.read.
func (d *Demo) Configure(cfg Config) Config {
	cfg.Issuer = d.Authority.Issuer()
	cfg.TokenURL = d.Authority.TokenURL()
	cfg.JWKSURL = d.Authority.JWKSURL() // always: the demo validates
	cfg.InsecureSkipValidation = false
	cfg.ClientID, cfg.ClientSecret = DemoGatewayID, DemoGatewaySecret
	cfg.Audiences = []string{DemoGatewayID}
	cfg.Routes = []Route{
		mustRoute("/api/orders=" + d.Orders.URL + ";audience=orders;scope=orders.read;actor=true"),
		mustRoute("/api/billing=" + d.Billing.URL + ";audience=billing;scope=billing.read"),
	}
	return cfg
}

// UserToken logs the demo user in with the password grant and returns
// her access token, issued for the audience gateway.
func (d *Demo) UserToken(ctx context.Context) (string, error) {
	c, err := authority.New(authority.Config{
		TokenURL:   d.Authority.TokenURL(),
		ClientID:   DemoLoginClient,
		AuthMethod: authority.AuthNone,
	})
	if err != nil {
		return "", err
	}
	tok, err := c.Password(ctx, authority.PasswordRequest{
		Username: DemoUser,
		Password: DemoPassword,
		Scopes:   []string{"orders.read", "billing.read"},
		Extra:    url.Values{"audience": {DemoGatewayID}},
	})
	if err != nil {
		return "", fmt.Errorf("demo login: %w", err)
	}
	return tok.AccessToken, nil
}

// mustRoute parses a route of the demo, which is known to be valid.
func mustRoute(s string) Route {
	r, err := ParseRoute(s)
	if err != nil {
		panic("gateway: demo route: " + err.Error())
	}
	return r
}
