package authority_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/internal/oteltest"
	"github.com/go-tokenexchange/tokenexchange/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
)

// TestIntrospect introspects active and inactive tokens with every client
// authentication method, the endpoint configured or discovered.
func TestIntrospect(t *testing.T) {
	a := newAuthority(t, testutil.Options{})
	key := newECKey(t)
	a.AddClient(testutil.Client{ID: "signed", AuthMethod: "private_key_jwt", PublicKey: key})
	active := a.IssueOpaqueToken(testutil.TokenClaims{Subject: "alice", ClientID: "web", Scope: "read", Audience: []string{"orders"}})
	jwtTok := a.IssueToken(testutil.TokenClaims{Subject: "bob", Audience: []string{"orders"}})
	revoked := a.IssueOpaqueToken(testutil.TokenClaims{Subject: "carol"})
	a.Revoke(revoked)

	configs := map[string]authority.Config{
		"basic, configured URL":               {TokenURL: a.TokenURL(), IntrospectionURL: a.IntrospectionURL(), ClientID: "gateway", ClientSecret: "gateway-secret"},
		"basic, discovered":                   {Issuer: a.Issuer(), ClientID: "gateway", ClientSecret: "gateway-secret"},
		"post":                                {Issuer: a.Issuer(), ClientID: "poster", ClientSecret: "poster secret&=", AuthMethod: authority.AuthClientSecretPost},
		"private_key_jwt, aud issuer":         {Issuer: a.Issuer(), ClientID: "signed", Signer: key},
		"private_key_jwt, aud token endpoint": {TokenURL: a.TokenURL(), IntrospectionURL: a.IntrospectionURL(), ClientID: "signed", Signer: key},
	}
	for name, cfg := range configs {
		t.Run(name, func(t *testing.T) {
			c := newClient(t, a, cfg)
			ctx := context.Background()
			in, err := c.Introspect(ctx, authority.NewSubjectToken(active), authority.TokenTypeHintAccessToken)
			require.NoError(t, err)
			assert.True(t, in.Active)
			assert.Equal(t, "Bearer", in.TokenType)
			assert.Equal(t, "web", in.ClientID)
			var claims map[string]any
			require.NoError(t, json.Unmarshal(in.Claims, &claims))
			assert.Equal(t, "alice", claims["sub"])
			assert.Equal(t, a.Issuer(), claims["iss"])

			in, err = c.Introspect(ctx, authority.NewSubjectToken(jwtTok), "")
			require.NoError(t, err)
			assert.True(t, in.Active)

			for _, tok := range []string{revoked, "opaque.unknown"} {
				in, err = c.Introspect(ctx, authority.NewSubjectToken(tok), "")
				require.NoError(t, err)
				assert.False(t, in.Active)
				assert.JSONEq(t, `{"active":false}`, string(in.Claims))
				assert.Empty(t, in.ClientID)
			}
		})
	}
	assert.Equal(t, 5*4, a.Introspections())
	assert.Equal(t, 4, a.IntrospectionsBy("poster"))
}

func TestIntrospectNoEndpoint(t *testing.T) {
	a := newAuthority(t, testutil.Options{})
	c := newClient(t, a, authority.Config{TokenURL: a.TokenURL(), ClientID: "gateway", ClientSecret: "gateway-secret"})
	_, err := c.Introspect(context.Background(), authority.NewSubjectToken("tok"), "")
	require.ErrorIs(t, err, authority.ErrNoIntrospectionEndpoint)
	_, err = c.Introspect(context.Background(), authority.SubjectToken{}, "")
	require.Error(t, err)
	_, err = authority.New(authority.Config{TokenURL: a.TokenURL(), IntrospectionURL: "ftp://x/introspect", ClientID: "gateway"})
	require.ErrorContains(t, err, "Config.IntrospectionURL")
	_, err = (&authority.Client{}).Introspect(context.Background(), authority.NewSubjectToken("tok"), "")
	require.Error(t, err)
}

// TestIntrospectFailures: every failure the endpoint can cause is an
// error of the right kind, temporary or permanent, and never holds the
// token.
func TestIntrospectFailures(t *testing.T) {
	const token = "opaque.SECRET-introspected-token-value"
	retry := http.Header{"Retry-After": {"7"}}
	tests := []struct {
		name      string
		fault     testutil.Fault
		secret    string // client secret to use; "" for the right one
		timeout   time.Duration
		temporary bool
		code      string
		retry     time.Duration
		status    int
	}{
		{name: "503 with Retry-After", fault: testutil.Fault{Status: 503, Header: retry}, temporary: true, retry: 7 * time.Second, status: 503},
		{name: "500 oauth error", fault: testutil.Fault{Kind: testutil.FaultOAuthError}, temporary: true, code: "server_error", status: 500},
		{name: "html", fault: testutil.Fault{Kind: testutil.FaultHTML, Status: 502}, temporary: true, status: 502},
		{name: "html 200", fault: testutil.Fault{Kind: testutil.FaultHTML, Status: 200}, temporary: true, status: 200},
		{name: "malformed json", fault: testutil.Fault{Kind: testutil.FaultMalformedJSON}, temporary: true, status: 200},
		{name: "empty 200", fault: testutil.Fault{Kind: testutil.FaultEmpty}, temporary: true, status: 200},
		{name: "oversize", fault: testutil.Fault{Kind: testutil.FaultOversize}, temporary: true, status: 200},
		{name: "active not boolean", fault: testutil.Fault{Kind: testutil.FaultRaw, Status: 200, Body: `{"active":"true"}`, Header: http.Header{"Content-Type": {"application/json"}}}, temporary: true, status: 200},
		{name: "no active", fault: testutil.Fault{Kind: testutil.FaultRaw, Status: 200, Body: `{"sub":"x"}`, Header: http.Header{"Content-Type": {"application/json"}}}, temporary: true, status: 200},
		{name: "echoes the token", fault: testutil.Fault{Kind: testutil.FaultRaw, Status: 400, Body: `{"error":"invalid_request","error_description":"bad ` + token + `"}`, Header: http.Header{"Content-Type": {"application/json"}}}, code: "invalid_request", status: 400},
		{name: "echoes the token in html", fault: testutil.Fault{Kind: testutil.FaultRaw, Status: 502, Body: `<p>` + token + `</p>`, Header: http.Header{"Content-Type": {"text/html"}}}, temporary: true, status: 502},
		{name: "dropped", fault: testutil.Fault{Kind: testutil.FaultDrop}, temporary: true},
		{name: "truncated", fault: testutil.Fault{Kind: testutil.FaultTruncated}, temporary: true},
		{name: "timeout", fault: testutil.Fault{Kind: testutil.FaultDelay, Delay: time.Hour}, timeout: 50 * time.Millisecond, temporary: true},
		{name: "redirect", fault: testutil.Fault{Status: 302, Header: http.Header{"Location": {"http://127.0.0.1:1/"}}}, status: 302},
		{name: "credentials refused", secret: "wrong", code: "invalid_client", status: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAuthority(t, testutil.Options{})
			m, tr := oteltest.NewMetrics(t), oteltest.NewTraces(t)
			secret := tt.secret
			if secret == "" {
				secret = "gateway-secret"
			}
			c := telemetryClient(t, a, m, tr, authority.Config{Issuer: a.Issuer(), ClientID: "gateway", ClientSecret: secret})
			if tt.secret == "" {
				a.FailIntrospection(1, tt.fault)
			}
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			in, err := c.Introspect(ctx, authority.NewSubjectToken(token), "access_token")
			require.Error(t, err)
			require.Nil(t, in)
			assert.Equal(t, tt.temporary, authority.IsTemporary(err), "%v", err)
			assert.Equal(t, !tt.temporary, authority.IsPermanent(err), "%v", err)
			assert.NotContains(t, err.Error(), "SECRET")
			assert.NotContains(t, fmt.Sprintf("%+v", err), "SECRET")
			var ae *authority.Error
			if errors.As(err, &ae) {
				assert.Equal(t, authority.GrantIntrospection, ae.Grant)
				assert.Equal(t, tt.code, ae.Code)
				assert.Equal(t, tt.retry, ae.RetryAfter)
				assert.Equal(t, tt.status, ae.StatusCode)
				assert.Contains(t, err.Error(), "authority: introspection: ")
			} else {
				assert.Zero(t, tt.status, "%v is not an *Error", err)
			}
			spans := tr.Ended("tokenexchange.authority.introspect")
			require.Len(t, spans, 1)
			g, _ := oteltest.Attr(spans[0], keyGrant)
			assert.Equal(t, "introspection", g)
			for _, s := range tr.Strings() {
				assert.NotContains(t, s, "SECRET")
			}
			for _, s := range m.Strings(t) {
				assert.NotContains(t, s, "SECRET")
			}
			outcome := "error"
			if !tt.temporary {
				outcome = "refused"
			}
			assert.EqualValues(t, 1, m.HistogramCount(t, metricDuration, keyGrant.String("introspection"), keyOutcome.String(outcome)))
		})
	}
}

// TestIntrospectTelemetry: a successful introspection has its client span,
// which the request carries in traceparent, and its duration.
func TestIntrospectTelemetry(t *testing.T) {
	a := newAuthority(t, testutil.Options{})
	m, tr := oteltest.NewMetrics(t), oteltest.NewTraces(t)
	var traceparent string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		traceparent = r.Header.Get("Traceparent")
		if r.Header.Get("Accept") != "application/json" {
			t.Errorf("Accept = %q", r.Header.Get("Accept"))
		}
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, a.IntrospectionURL(), r.Body)
		req.Header = r.Header.Clone()
		resp, err := a.Client().Do(req)
		if err != nil {
			t.Errorf("proxy: %v", err)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	t.Cleanup(proxy.Close)
	c := telemetryClient(t, a, m, tr, authority.Config{TokenURL: a.TokenURL(), IntrospectionURL: proxy.URL, Propagator: propagation.TraceContext{}})
	in, err := c.Introspect(context.Background(), authority.NewSubjectToken(a.IssueOpaqueToken(testutil.TokenClaims{Subject: "x"})), "")
	require.NoError(t, err)
	require.True(t, in.Active)
	spans := tr.Ended("tokenexchange.authority.introspect")
	require.Len(t, spans, 1)
	s := spans[0]
	assert.Equal(t, "client", s.SpanKind().String())
	assert.Contains(t, traceparent, s.SpanContext().TraceID().String())
	st, _ := oteltest.Attr(s, keyStatus)
	assert.Equal(t, "200", st)
	srv, _ := oteltest.Attr(s, keyServer)
	assert.Equal(t, "127.0.0.1", srv)
	assert.EqualValues(t, 1, m.HistogramCount(t, metricDuration, attribute.String("tokenexchange.grant", "introspection"), keyOutcome.String("success")))
	assert.Equal(t, "authority.Introspection{Active:true}", fmt.Sprintf("%+v", in))
}
