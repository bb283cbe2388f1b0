package xoauth2_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/authority/xoauth2"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// newAuthority starts a test authority with a "gateway" client that may
// ask for the "orders" audience, and a resource server for it.
func newAuthority(t *testing.T) (*testutil.Authority, *testutil.ResourceServer) {
	t.Helper()
	a := testutil.NewAuthority(t, testutil.Options{})
	a.AddClient(testutil.Client{ID: "gateway", Secret: "gateway-secret", ExchangeAudiences: []string{"orders"}})
	a.AddUser("alice", "wonderland")
	return a, testutil.NewResourceServer(t, a, "orders")
}

func newCachedSource(t *testing.T, a *testutil.Authority, grant authority.Grant) *authority.CachedSource {
	t.Helper()
	c, err := authority.New(authority.Config{TokenURL: a.TokenURL(), ClientID: "gateway", ClientSecret: "gateway-secret", HTTPClient: a.Client()})
	require.NoError(t, err)
	return authority.NewCachedSource(c, grant, authority.CachedSourceOptions{})
}

// staticSource is an authority.TokenSource that returns one result.
type staticSource struct {
	tok *authority.Token
	err error
}

func (s staticSource) Token(context.Context) (*authority.Token, error) { return s.tok, s.err }

// funcSource is an oauth2.TokenSource built from a function.
type funcSource func() (*oauth2.Token, error)

func (f funcSource) Token() (*oauth2.Token, error) { return f() }

func TestTokenSource(t *testing.T) {
	a, _ := newAuthority(t)
	ts := newCachedSource(t, a, authority.PasswordRequest{Username: "alice", Password: "wonderland", Scopes: []string{"profile"}})
	ot, err := xoauth2.TokenSource(ts).Token()
	require.NoError(t, err)
	assert.True(t, ot.Valid())
	assert.Equal(t, "Bearer", ot.Type())
	assert.Empty(t, ot.RefreshToken, "the refresh token stays inside the TokenSource")
	assert.Equal(t, "profile", ot.Extra("scope"))
	tok, err := ts.Token(context.Background())
	require.NoError(t, err)
	assert.Equal(t, tok.AccessToken, ot.AccessToken)
	assert.Equal(t, tok.Expiry, ot.Expiry)

	a.InjectFaults(1, testutil.Fault{Kind: testutil.FaultOAuthError, Status: 401, Body: "invalid_client"})
	ts.Invalidate(nil)
	_, err = xoauth2.TokenSource(ts).Token()
	require.ErrorIs(t, err, authority.ErrInvalidClient)

	exchanged := &authority.Token{AccessToken: "x", TokenType: "N_A", IssuedTokenType: authority.TokenTypeJWT, Expiry: time.Now().Add(time.Hour)}
	ot, err = xoauth2.TokenSource(staticSource{tok: exchanged}).Token()
	require.NoError(t, err)
	assert.Equal(t, authority.TokenTypeJWT, ot.Extra("issued_token_type"))
	assert.Equal(t, "N_A", ot.TokenType)

	for name, src := range map[string]staticSource{
		"nil":   {},
		"empty": {tok: &authority.Token{Expiry: time.Now().Add(time.Hour)}},
	} {
		_, err := xoauth2.TokenSource(src).Token()
		assert.ErrorIs(t, err, xoauth2.ErrInvalidToken, name)
	}
}

// TestTokenSourceWithOAuth2Client sends a request through oauth2.NewClient
// with a CachedSource behind it: the resource server sees the token.
func TestTokenSourceWithOAuth2Client(t *testing.T) {
	a, orders := newAuthority(t)
	ts := newCachedSource(t, a, authority.ClientCredentialsRequest{Audiences: []string{"orders"}})
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, orders.Client())
	hc := oauth2.NewClient(ctx, xoauth2.TokenSource(ts))
	for range 2 {
		resp, err := hc.Get(orders.URL + "/orders/7")
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		assert.Equal(t, http.StatusOK, resp.StatusCode)
	}
	got := orders.Received()
	require.Len(t, got, 2)
	assert.True(t, got[0].Authorized)
	assert.Equal(t, "gateway", got[0].Subject)
	assert.Equal(t, 1, a.Count(authority.GrantClientCredentials), "the CachedSource cached the token")
}

// TestFromOAuth2 takes a token from x/oauth2's client credentials source
// against the test authority and uses it downstream.
func TestFromOAuth2(t *testing.T) {
	a, orders := newAuthority(t)
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, a.Client())
	cc := clientcredentials.Config{ClientID: "gateway", ClientSecret: "gateway-secret", TokenURL: a.TokenURL(),
		Scopes: []string{"read"}, EndpointParams: map[string][]string{"audience": {"orders"}}}
	src := xoauth2.FromOAuth2(cc.TokenSource(ctx))
	var first *authority.Token
	for range 3 {
		tok, err := src.Token(context.Background())
		require.NoError(t, err)
		first = tok
	}
	assert.Equal(t, 1, a.Count(authority.GrantClientCredentials), "clientcredentials caches the token")
	assert.Equal(t, "Bearer", first.TokenType)
	assert.Equal(t, "read", first.Scope)
	assert.Empty(t, first.RefreshToken)
	assert.False(t, first.Expired(time.Now()))

	req, err := http.NewRequest(http.MethodGet, orders.URL+"/orders/7", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+first.AccessToken)
	resp, err := orders.Client().Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	// A refusal: x/oauth2's *RetrieveError, wrapped.
	bad := clientcredentials.Config{ClientID: "gateway", ClientSecret: "wrong", TokenURL: a.TokenURL()}
	_, err = xoauth2.FromOAuth2(bad.TokenSource(ctx)).Token(context.Background())
	var re *oauth2.RetrieveError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, "invalid_client", re.ErrorCode)
	assert.NotContains(t, err.Error(), "wrong")
}

func TestFromOAuth2Refuses(t *testing.T) {
	soon := time.Now().Add(time.Hour)
	calls := 0
	tests := []struct {
		name string
		ot   *oauth2.Token
		err  error
		want error
	}{
		{name: "error", err: errors.New("no network"), want: nil},
		{name: "nil", want: xoauth2.ErrInvalidToken},
		{name: "empty", ot: &oauth2.Token{Expiry: soon}, want: xoauth2.ErrInvalidToken},
		{name: "expired", ot: &oauth2.Token{AccessToken: "x", Expiry: time.Now().Add(-time.Minute)}, want: xoauth2.ErrInvalidToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := xoauth2.FromOAuth2(funcSource(func() (*oauth2.Token, error) { return tt.ot, tt.err }))
			tok, err := src.Token(context.Background())
			require.Error(t, err)
			assert.Nil(t, tok)
			if tt.err != nil {
				assert.ErrorIs(t, err, tt.err)
				assert.Contains(t, err.Error(), "xoauth2: ")
				return
			}
			assert.ErrorIs(t, err, tt.want)
		})
	}

	// An ended context: ts is not called.
	src := xoauth2.FromOAuth2(funcSource(func() (*oauth2.Token, error) {
		calls++
		return &oauth2.Token{AccessToken: "x"}, nil
	}))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := src.Token(ctx)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Zero(t, calls)

	// No expiry: kept zero, which authority reads as expired.
	tok, err := src.Token(context.Background())
	require.NoError(t, err)
	assert.True(t, tok.Expiry.IsZero())
	assert.True(t, tok.Expired(time.Now()))
	assert.Equal(t, "Bearer", tok.TokenType)
}

// TestAdaptersUnwrap: adapting back returns the original source.
func TestAdaptersUnwrap(t *testing.T) {
	a, _ := newAuthority(t)
	ts := newCachedSource(t, a, authority.ClientCredentialsRequest{})
	assert.Same(t, ts, xoauth2.FromOAuth2(xoauth2.TokenSource(ts)))
	static := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "x"})
	assert.Equal(t, static, xoauth2.TokenSource(xoauth2.FromOAuth2(static)))
}

// TestFromOAuth2ErrorsNeverQuoteTheBody checks that a refusal whose body
// echoes the request (as a WAF or debug page does) does not bring the
// client secret into the error string: x/oauth2's RetrieveError prints the
// body in its own message.
func TestFromOAuth2ErrorsNeverQuoteTheBody(t *testing.T) {
	const secret = "echoed-client-secret-1234"
	for _, tt := range []struct {
		name, contentType, body, want string
	}{
		{"text echo", "text/plain", "bad request: client_secret=" + secret, "(HTTP 400)"},
		{"oauth error", "application/json", `{"error":"invalid_client","error_description":"` + secret + `"}`, `(HTTP 400): "invalid_client"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tt.contentType)
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(tt.body))
			}))
			t.Cleanup(srv.Close)
			cc := clientcredentials.Config{ClientID: "gateway", ClientSecret: secret, TokenURL: srv.URL, AuthStyle: oauth2.AuthStyleInParams}
			ctx := context.WithValue(context.Background(), oauth2.HTTPClient, srv.Client())
			_, err := xoauth2.FromOAuth2(cc.TokenSource(ctx)).Token(context.Background())
			require.Error(t, err)
			var re *oauth2.RetrieveError
			require.ErrorAs(t, err, &re, "the RetrieveError stays reachable")
			for _, out := range []string{err.Error(), fmt.Sprintf("%v|%+v|%s|%q", err, err, err, err)} {
				assert.NotContains(t, out, secret)
			}
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}
