package exchange_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/internal/bytecache"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// t0 is the start of every fake clock.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

const (
	clientID     = "gateway"
	clientSecret = "gateway-secret"
)

// env is one authority, one client and one Exchanger on a fake clock.
type env struct {
	a      *testutil.Authority
	clock  *testutil.Clock
	client *authority.Client
	x      *exchange.Exchanger
}

// newEnv starts an ES256 authority (fast signing) with client "gateway"
// allowed audiences api-a and api-b, and an Exchanger with opts, whose
// clock is set to the env's unless opts.Now is set. httpClient may be nil.
func newEnv(tb testing.TB, opts exchange.Options, aopts testutil.Options, httpClient *http.Client) *env {
	tb.Helper()
	clock := testutil.NewClock(t0)
	if aopts.Now == nil {
		aopts.Now = clock.Now
	}
	if aopts.Algorithm == "" {
		aopts.Algorithm = testutil.ES256
	}
	a := testutil.NewAuthority(tb, aopts)
	a.AddClient(testutil.Client{ID: clientID, Secret: clientSecret, ExchangeAudiences: []string{"api-a", "api-b"}})
	if httpClient == nil {
		httpClient = a.Client()
	}
	client, err := authority.New(authority.Config{
		TokenURL:     a.TokenURL(),
		ClientID:     clientID,
		ClientSecret: clientSecret,
		HTTPClient:   httpClient,
		Now:          clock.Now,
	})
	require.NoError(tb, err)
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	if opts.Cache == nil && byteCacheMode() {
		opts.Cache = bytecache.New(opts.Now)
	}
	x, err := exchange.New(client, opts)
	require.NoError(tb, err)
	tb.Cleanup(x.Close)
	return &env{a: a, clock: clock, client: client, x: x}
}

// subject issues a subject token for sub, valid for an hour.
func (e *env) subject(sub string) string {
	return e.a.IssueToken(testutil.TokenClaims{
		Subject:  sub,
		ClientID: "frontend",
		Audience: []string{clientID},
		Scope:    "read write",
		Expiry:   e.clock.Now().Add(time.Hour),
	})
}

// exchanges counts the token-exchange requests the authority answered.
func (e *env) exchanges() int { return e.a.Count(testutil.GrantTokenExchange) }

// claims parses an issued token without verifying it.
func claims(tb testing.TB, tok *authority.Token) jwt.Token {
	tb.Helper()
	require.NotNil(tb, tok)
	parsed, err := jwt.ParseInsecure([]byte(tok.AccessToken))
	require.NoError(tb, err)
	return parsed
}

// staticSource is an actor TokenSource with a fixed token.
type staticSource struct{ tok *authority.Token }

func (s staticSource) Token(context.Context) (*authority.Token, error) { return s.tok, nil }

// gate is a RoundTripper that holds every request until released or until
// the request's context ends, and signals each request it holds.
type gate struct {
	base    http.RoundTripper
	arrived chan struct{}
	release chan struct{}
}

func (g *gate) RoundTrip(r *http.Request) (*http.Response, error) {
	g.arrived <- struct{}{}
	select {
	case <-g.release:
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
	return g.base.RoundTrip(r)
}

// noToken asserts that err's message contains none of the tokens.
func noToken(tb testing.TB, err error, tokens ...string) {
	tb.Helper()
	for _, tok := range tokens {
		if tok != "" && strings.Contains(err.Error(), tok) {
			tb.Fatalf("error message contains a token: %v", err)
		}
	}
}
