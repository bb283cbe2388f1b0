package authority_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestInjectedFaults(t *testing.T) {
	tests := []struct {
		name       string
		fault      testutil.Fault
		temporary  bool
		oauthError bool // the error is an *authority.Error
		code       authority.ErrorCode
		retryAfter time.Duration
		text       string
	}{
		{name: "500 empty", fault: testutil.Fault{Status: 500}, temporary: true, oauthError: true, text: "HTTP 500"},
		{name: "503 retry-after", fault: testutil.Fault{Status: 503, Header: http.Header{"Retry-After": {"12"}}}, temporary: true, oauthError: true, retryAfter: 12 * time.Second, text: "retry after 12s"},
		{name: "429 oauth", fault: testutil.Fault{Kind: testutil.FaultOAuthError, Status: 429, Body: "slow_down", Header: http.Header{"Retry-After": {"3"}}}, temporary: true, oauthError: true, retryAfter: 3 * time.Second},
		{name: "server_error", fault: testutil.Fault{Kind: testutil.FaultOAuthError, Status: 500}, temporary: true, oauthError: true, code: authority.ErrServerError},
		{name: "invalid_grant", fault: testutil.Fault{Kind: testutil.FaultOAuthError, Status: 400, Body: "invalid_grant"}, oauthError: true, code: authority.ErrInvalidGrant},
		{name: "access_denied 403", fault: testutil.Fault{Kind: testutil.FaultOAuthError, Status: 403, Body: "access_denied"}, oauthError: true, code: authority.ErrAccessDenied},
		{name: "malformed json", fault: testutil.Fault{Kind: testutil.FaultMalformedJSON}, oauthError: true, text: "malformed token response"},
		{name: "html page", fault: testutil.Fault{Kind: testutil.FaultHTML, Status: 502}, temporary: true, oauthError: true, text: "text/html"},
		{name: "html 404", fault: testutil.Fault{Kind: testutil.FaultHTML, Status: 404}, oauthError: true, text: "HTTP 404"},
		{name: "oversize", fault: testutil.Fault{Kind: testutil.FaultOversize}, oauthError: true, text: "exceeds"},
		{name: "empty 200", fault: testutil.Fault{Kind: testutil.FaultEmpty}, oauthError: true, text: "empty body"},
		{name: "dropped connection", fault: testutil.Fault{Kind: testutil.FaultDrop}, temporary: true},
		{name: "reply cut off", fault: testutil.Fault{Kind: testutil.FaultTruncated}, temporary: true, text: "unexpected EOF"},
		{name: "login page with 200", fault: testutil.Fault{Kind: testutil.FaultRaw, Status: 200, Body: "<html><title>Sign in</title></html>", Header: http.Header{"Content-Type": {"text/html"}}},
			oauthError: true, text: `malformed token response (HTTP 200, text/html): body is not a JSON object`},
		{name: "error object with 200", fault: testutil.Fault{Kind: testutil.FaultRaw, Status: 200, Body: `{"error":"invalid_grant","error_description":"nope"}`, Header: http.Header{"Content-Type": {"application/json"}}},
			oauthError: true, code: authority.ErrInvalidGrant, text: "invalid_grant: nope (HTTP 200)"},
		{name: "redirect", fault: testutil.Fault{Kind: testutil.FaultRaw, Status: 307, Header: http.Header{"Location": {"http://127.0.0.1:1/steal"}}}, oauthError: true, text: "HTTP 307"},
		{name: "raw text", fault: testutil.Fault{Kind: testutil.FaultRaw, Status: 400, Body: "nope", Header: http.Header{"Content-Type": {"text/plain"}}}, oauthError: true, text: `"nope"`},
	}
	a := newAuthority(t, testutil.Options{})
	c := newClient(t, a, authority.Config{ClientID: "gateway", ClientSecret: "gateway-secret"})
	subject := a.UserToken("alice", "web", "gateway")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a.InjectFaults(1, tt.fault)
			_, err := c.Exchange(context.Background(), authority.ExchangeRequest{SubjectToken: subject, Audiences: []string{"orders"}})
			require.Error(t, err)
			assert.Equal(t, tt.temporary, authority.IsTemporary(err), "IsTemporary: %v", err)
			var ae *authority.Error
			assert.Equal(t, tt.oauthError, errors.As(err, &ae), "*authority.Error: %v", err)
			if tt.code != "" {
				assert.ErrorIs(t, err, tt.code)
			}
			if ae != nil {
				assert.Equal(t, tt.retryAfter, ae.RetryAfter)
				assert.Equal(t, authority.GrantTokenExchange, ae.Grant)
			}
			if tt.text != "" {
				assert.Contains(t, err.Error(), tt.text)
			}
			assert.NotContains(t, err.Error(), subject)
			assert.NotContains(t, err.Error(), "gateway-secret")
			assert.Less(t, len(err.Error()), 600)
		})
	}
	// The authority still works after every fault.
	_, err := c.Exchange(context.Background(), authority.ExchangeRequest{SubjectToken: subject, Audiences: []string{"orders"}})
	require.NoError(t, err)
}

func TestContextCancellation(t *testing.T) {
	a := newAuthority(t, testutil.Options{})
	c := newClient(t, a, authority.Config{ClientID: "gateway", ClientSecret: "gateway-secret"})
	// The server would answer only when it closes, at the end of the
	// test: the call returns because its context ends.
	a.InjectFaults(1, testutil.Fault{Status: 500, Delay: time.Hour})

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.ClientCredentials(ctx, authority.ClientCredentialsRequest{})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.True(t, authority.IsTemporary(err))

	canceled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	_, err = c.ClientCredentials(canceled, authority.ClientCredentialsRequest{})
	require.ErrorIs(t, err, context.Canceled)
	assert.False(t, authority.IsTemporary(err))
}

func TestUnreachableAuthority(t *testing.T) {
	a := newAuthority(t, testutil.Options{})
	url := a.TokenURL()
	a.Close()
	c, err := authority.New(authority.Config{TokenURL: url, ClientID: "gateway", ClientSecret: "gateway-secret"})
	require.NoError(t, err)
	_, err = c.ClientCredentials(context.Background(), authority.ClientCredentialsRequest{})
	require.Error(t, err)
	assert.True(t, authority.IsTemporary(err))
	assert.False(t, authority.IsPermanent(err))
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	var stolen atomic.Int32
	thief := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { stolen.Add(1) }))
	t.Cleanup(thief.Close)
	a := newAuthority(t, testutil.Options{})
	a.InjectFaults(1, testutil.Fault{Kind: testutil.FaultRaw, Status: http.StatusPermanentRedirect, Header: http.Header{"Location": {thief.URL + "/token"}}})
	c := newClient(t, a, authority.Config{ClientID: "gateway", ClientSecret: "gateway-secret", HTTPClient: &http.Client{}})

	_, err := c.Exchange(context.Background(), authority.ExchangeRequest{SubjectToken: a.UserToken("alice", "web", "gateway"), Audiences: []string{"orders"}})
	var ae *authority.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, http.StatusPermanentRedirect, ae.StatusCode)
	assert.True(t, authority.IsPermanent(err))
	assert.Zero(t, stolen.Load(), "the form, with the subject token and the client secret, was replayed to the redirect's target")
}

func TestUntrustedCertificateIsNotTemporary(t *testing.T) {
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	c, err := authority.New(authority.Config{TokenURL: srv.URL + "/token", ClientID: "x", ClientSecret: "y"})
	require.NoError(t, err)
	_, err = c.ClientCredentials(context.Background(), authority.ClientCredentialsRequest{})
	require.Error(t, err)
	assert.False(t, authority.IsTemporary(err), "retrying will not make the certificate trusted: %v", err)
}

func TestZeroClient(t *testing.T) {
	var c authority.Client
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := c.ClientCredentials(ctx, authority.ClientCredentialsRequest{})
	require.ErrorContains(t, err, "must be created with New")
}
