package authority_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOnBehalfOf(t *testing.T) {
	a := newAuthority(t, testutil.Options{})
	key := newECKey(t)
	cert, err := testutil.SelfSignedCertificate(key, "middle-tier")
	require.NoError(t, err)
	a.AddClient(testutil.Client{ID: "mid", Secret: "mid-secret"})
	a.AddClient(testutil.Client{ID: "mid-cert", AuthMethod: "private_key_jwt", Certificate: cert})
	user := a.IssueToken(testutil.TokenClaims{Subject: "alice", Audience: []string{"mid", "mid-cert"}})

	tests := []struct {
		name string
		cfg  authority.Config
	}{
		{"client secret", authority.Config{ClientID: "mid", ClientSecret: "mid-secret"}},
		{"certificate (private_key_jwt with x5t#S256)", authority.Config{ClientID: "mid-cert", Signer: key, Certificate: cert}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, a, tt.cfg)
			tok, err := c.OnBehalfOf(context.Background(), authority.OnBehalfOfRequest{Assertion: user, Scopes: []string{"api://orders/.default"}})
			require.NoError(t, err)
			cl := claims(t, tok.AccessToken)
			assert.Equal(t, "alice", cl.Subject())
			assert.Equal(t, []string{"api://orders"}, cl.Audience())
			assert.Equal(t, "api://orders/.default", tok.Scope)
			reqs := a.Requests()
			last := reqs[len(reqs)-1]
			assert.Equal(t, authority.GrantJWTBearer, last.Grant)
			assert.Equal(t, "on_behalf_of", last.Form.Get("requested_token_use"))
			assert.Equal(t, user, last.Form.Get("assertion"))
			for _, p := range []string{"subject_token", "subject_token_type", "requested_token_type", "audience", "resource"} {
				assert.NotContains(t, last.Form, p)
			}
		})
	}
}

func TestOnBehalfOfRefusedBeforeSending(t *testing.T) {
	a := newAuthority(t, testutil.Options{})
	c := newClient(t, a, authority.Config{ClientID: "gateway", ClientSecret: "gateway-secret"})
	for _, r := range []authority.OnBehalfOfRequest{
		{Scopes: []string{"api://orders/.default"}},
		{Assertion: "tok"},
		{Assertion: "tok", Scopes: []string{" ", ""}},
	} {
		_, err := c.OnBehalfOf(context.Background(), r)
		require.Error(t, err)
	}
	assert.Zero(t, a.Count(authority.GrantJWTBearer))
}

// TestOnBehalfOfErrors checks that Entra ID's refusals come back as
// *Error with their codes, AADSTS numbers, IDs and claims challenge, and
// never with the assertion.
func TestOnBehalfOfErrors(t *testing.T) {
	clock := newFakeClock()
	a := newAuthority(t, testutil.Options{Now: clock.Now})
	a.AddClient(testutil.Client{ID: "mid", Secret: "mid-secret"})
	a.RequireConsent("api://billing/.default")
	a.RequireStepUp("api://payroll/.default", "c1")
	user := a.IssueToken(testutil.TokenClaims{Subject: "alice", Audience: []string{"mid"}})
	expired := a.IssueToken(testutil.TokenClaims{Subject: "alice", Audience: []string{"mid"}, Expiry: clock.Now().Add(-time.Minute)})
	var logs bytes.Buffer
	c := newClient(t, a, authority.Config{Issuer: a.Issuer(), ClientID: "mid", ClientSecret: "mid-secret", Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})

	tests := []struct {
		name      string
		assertion string
		scope     string
		code      authority.ErrorCode
		aadsts    int
		claims    string
	}{
		{"expired assertion", expired, "api://orders/.default", authority.ErrInvalidGrant, 500133, ""},
		{"assertion for another client", a.IssueToken(testutil.TokenClaims{Subject: "alice", Audience: []string{"web"}}), "api://orders/.default", authority.ErrInvalidGrant, 50013, ""},
		{"consent", user, "api://billing/.default", authority.ErrConsentRequired, 65001, ""},
		{"step-up", user, "api://payroll/.default", authority.ErrInteractionRequired, 50076, testutil.StepUpClaims("c1")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.OnBehalfOf(context.Background(), authority.OnBehalfOfRequest{Assertion: tt.assertion, Scopes: []string{tt.scope}})
			require.ErrorIs(t, err, tt.code)
			assert.True(t, authority.IsPermanent(err))
			assert.Equal(t, string(tt.code), authority.ErrorCodeOf(err))
			var ae *authority.Error
			require.True(t, errors.As(err, &ae))
			assert.Equal(t, authority.GrantJWTBearer, ae.Grant)
			assert.Equal(t, []int{tt.aadsts}, ae.ErrorCodes)
			assert.Contains(t, ae.Description, fmt.Sprintf("AADSTS%d", tt.aadsts))
			assert.Len(t, ae.TraceID, 36)
			assert.Len(t, ae.CorrelationID, 36)
			assert.Contains(t, err.Error(), "on-behalf-of: "+string(tt.code))
			// What the operator and Microsoft's support need reaches the log line.
			assert.Contains(t, err.Error(), fmt.Sprintf("; error codes %d", tt.aadsts))
			assert.Contains(t, err.Error(), "; trace id "+ae.TraceID)
			assert.Contains(t, err.Error(), "; correlation id "+ae.CorrelationID)
			if tt.claims != "" {
				assert.JSONEq(t, tt.claims, ae.Claims)
				assert.Equal(t, a.URL+"/authorize", ae.AuthorizationURI)
				assert.Contains(t, err.Error(), "claims challenge")
			} else {
				assert.Empty(t, ae.Claims)
				assert.Empty(t, ae.AuthorizationURI)
			}
			if tt.code == authority.ErrInteractionRequired {
				// Without discovery, no authorization endpoint is known.
				_, err := newClient(t, a, authority.Config{ClientID: "mid", ClientSecret: "mid-secret"}).
					OnBehalfOf(context.Background(), authority.OnBehalfOfRequest{Assertion: tt.assertion, Scopes: []string{tt.scope}})
				require.True(t, errors.As(err, &ae))
				assert.NotEmpty(t, ae.Claims)
				assert.Empty(t, ae.AuthorizationURI)
			}
			for _, out := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", ae), logs.String()} {
				assert.NotContains(t, out, tt.assertion)
			}
		})
	}
}

func TestOnBehalfOfRequestPrinting(t *testing.T) {
	const secret = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln"
	r := authority.OnBehalfOfRequest{Assertion: secret, Scopes: []string{"api://orders/.default"}}
	js, err := json.Marshal(r)
	require.NoError(t, err)
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("req", "r", r)
	for _, out := range []string{r.String(), fmt.Sprintf("%v", r), fmt.Sprintf("%+v", r), fmt.Sprintf("%#v", r), fmt.Sprintf("%q", r), string(js), logs.String()} {
		assert.NotContains(t, out, secret)
		assert.Contains(t, out, "api://orders/.default")
	}
}
