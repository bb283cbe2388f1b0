package authority_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/internal/oteltest"
	"github.com/go-tokenexchange/tokenexchange/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Attribute keys as the package documentation lists them.
const (
	keyGrant      = attribute.Key("tokenexchange.grant")
	keyOutcome    = attribute.Key("tokenexchange.outcome")
	keyOAuthError = attribute.Key("tokenexchange.oauth.error")
	keyBackground = attribute.Key("tokenexchange.background")
	keyStatus     = attribute.Key("http.response.status_code")
	keyServer     = attribute.Key("server.address")

	metricDuration = "tokenexchange.authority.request.duration"
	metricRenewals = "tokenexchange.token_source.renewals"
	spanToken      = "tokenexchange.authority.token"
	spanDiscovery  = "tokenexchange.authority.discovery"
	spanRenew      = "tokenexchange.token_source.renew"
)

// telemetryClient returns a Client of a with the test's providers.
func telemetryClient(t *testing.T, a *testutil.Authority, m *oteltest.Metrics, tr *oteltest.Traces, cfg authority.Config) *authority.Client {
	t.Helper()
	cfg.MeterProvider, cfg.TracerProvider = m.Provider, tr.Provider
	if cfg.ClientID == "" {
		cfg.ClientID, cfg.ClientSecret = "gateway", "gateway-secret"
	}
	return newClient(t, a, cfg)
}

// TestTokenRequestTelemetry runs a scripted sequence of token requests and
// checks the histogram count and the span of each.
func TestTokenRequestTelemetry(t *testing.T) {
	a := newAuthority(t, testutil.Options{})
	m, tr := oteltest.NewMetrics(t), oteltest.NewTraces(t)
	c := telemetryClient(t, a, m, tr, authority.Config{})
	user := a.UserToken("alice", "web", "gateway")

	steps := []struct {
		name    string
		fault   *testutil.Fault
		timeout time.Duration
		call    func(ctx context.Context) error
		grant   string
		outcome string
		code    string // oauth.error; "" for none
		status  int    // 0 for no reply
	}{
		{name: "client credentials", grant: "client_credentials", outcome: "success", status: 200,
			call: func(ctx context.Context) error {
				_, err := c.ClientCredentials(ctx, authority.ClientCredentialsRequest{})
				return err
			}},
		{name: "exchange", grant: "token_exchange", outcome: "success", status: 200,
			call: func(ctx context.Context) error {
				_, err := c.Exchange(ctx, authority.ExchangeRequest{SubjectToken: user, Audiences: []string{"orders"}})
				return err
			}},
		{name: "password", grant: "password", outcome: "success", status: 200,
			call: func(ctx context.Context) error {
				_, err := c.Password(ctx, authority.PasswordRequest{Username: "alice", Password: "wonderland"})
				return err
			}},
		{name: "invalid_grant", grant: "refresh_token", outcome: "refused", code: "invalid_grant", status: 400,
			fault: &testutil.Fault{Kind: testutil.FaultOAuthError, Status: 400, Body: "invalid_grant"},
			call: func(ctx context.Context) error {
				_, err := c.Refresh(ctx, authority.RefreshRequest{RefreshToken: "stale"})
				return err
			}},
		{name: "503", grant: "token_exchange", outcome: "error", status: 503,
			fault: &testutil.Fault{Status: http.StatusServiceUnavailable},
			call: func(ctx context.Context) error {
				_, err := c.Exchange(ctx, authority.ExchangeRequest{SubjectToken: user, Audiences: []string{"orders"}})
				return err
			}},
		{name: "timeout", grant: "client_credentials", outcome: "error",
			fault:   &testutil.Fault{Kind: testutil.FaultDelay, Delay: time.Minute},
			timeout: 50 * time.Millisecond,
			call: func(ctx context.Context) error {
				_, err := c.ClientCredentials(ctx, authority.ClientCredentialsRequest{})
				return err
			}},
		{name: "canceled", grant: "password", outcome: "canceled",
			timeout: -1,
			call: func(ctx context.Context) error {
				_, err := c.Password(ctx, authority.PasswordRequest{Username: "alice", Password: "wonderland"})
				return err
			}},
	}
	for _, st := range steps {
		if st.fault != nil {
			a.InjectFaults(1, *st.fault)
		}
		ctx, cancel := context.WithCancel(context.Background())
		switch {
		case st.timeout > 0:
			ctx, cancel = context.WithTimeout(context.Background(), st.timeout)
		case st.timeout < 0:
			cancel()
		}
		err := st.call(ctx)
		cancel()
		assert.Equal(t, st.outcome == "success", err == nil, "%s: %v", st.name, err)

		spans := tr.Ended(spanToken)
		require.NotEmpty(t, spans, st.name)
		s := spans[len(spans)-1]
		assert.Equal(t, trace.SpanKindClient, s.SpanKind(), st.name)
		assertAttr(t, s, keyGrant, st.grant, st.name)
		assertAttr(t, s, keyOutcome, st.outcome, st.name)
		assertAttr(t, s, keyOAuthError, st.code, st.name)
		assertAttr(t, s, keyServer, "127.0.0.1", st.name)
		if st.status != 0 {
			assertAttr(t, s, keyStatus, itoa(st.status), st.name)
		} else {
			assertAttr(t, s, keyStatus, "", st.name)
		}
		if st.outcome == "success" {
			assert.Equal(t, codes.Unset, s.Status().Code, st.name)
		} else {
			want := st.outcome
			if st.code != "" {
				want = st.code
			}
			assert.Equal(t, sdktrace.Status{Code: codes.Error, Description: want}, s.Status(), st.name)
		}
	}

	// The histogram, per grant, outcome and code.
	for _, st := range steps {
		attrs := []attribute.KeyValue{keyGrant.String(st.grant), keyOutcome.String(st.outcome)}
		if st.code != "" {
			attrs = append(attrs, keyOAuthError.String(st.code))
		}
		assert.Equal(t, uint64(1), m.HistogramCount(t, metricDuration, attrs...), st.name)
	}
	assert.Equal(t, uint64(len(steps)), m.HistogramCount(t, metricDuration))
	assert.Equal(t, uint64(3), m.HistogramCount(t, metricDuration, keyOutcome.String("success")))
	assert.Equal(t, uint64(2), m.HistogramCount(t, metricDuration, keyOutcome.String("error")))
	mt, ok := m.Find(t, metricDuration)
	require.True(t, ok)
	assert.Equal(t, "s", mt.Unit)
	assert.NotEmpty(t, mt.Description)
}

// TestTokenRequestSpanTree checks that the token span is a child of the
// caller's span, that the discovery span is a child of the token span,
// and that the request carries the token span's context in traceparent.
func TestTokenRequestSpanTree(t *testing.T) {
	seen := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Get("traceparent")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"issued","token_type":"Bearer","expires_in":60}`))
	}))
	defer srv.Close()
	m, tr := oteltest.NewMetrics(t), oteltest.NewTraces(t)
	c, err := authority.New(authority.Config{
		TokenURL: srv.URL + "/token", ClientID: "gateway", ClientSecret: "gateway-secret", HTTPClient: srv.Client(),
		MeterProvider: m.Provider, TracerProvider: tr.Provider, Propagator: propagation.TraceContext{},
	})
	require.NoError(t, err)

	ctx, parent := tr.Provider.Tracer("test").Start(context.Background(), "caller")
	_, err = c.ClientCredentials(ctx, authority.ClientCredentialsRequest{})
	parent.End()
	require.NoError(t, err)

	spans := tr.Ended(spanToken)
	require.Len(t, spans, 1)
	s := spans[0]
	assert.Equal(t, parent.SpanContext().TraceID(), s.SpanContext().TraceID())
	assert.Equal(t, parent.SpanContext().SpanID(), s.Parent().SpanID(), "the token span is a child of the caller's")
	header := <-seen
	assert.Equal(t, "00-"+s.SpanContext().TraceID().String()+"-"+s.SpanContext().SpanID().String()+"-01", header)

	// Discovery runs inside the first token request, as its child.
	a := newAuthority(t, testutil.Options{})
	tr = oteltest.NewTraces(t)
	c = telemetryClient(t, a, m, tr, authority.Config{Issuer: a.Issuer()})
	_, err = c.ClientCredentials(context.Background(), authority.ClientCredentialsRequest{})
	require.NoError(t, err)
	disc, tok := tr.Ended(spanDiscovery), tr.Ended(spanToken)
	require.Len(t, disc, 1)
	require.Len(t, tok, 1)
	assert.Equal(t, tok[0].SpanContext().SpanID(), disc[0].Parent().SpanID())
	assert.Equal(t, trace.SpanKindClient, disc[0].SpanKind())
	assertAttr(t, disc[0], keyOutcome, "success", "discovery")
	assertAttr(t, disc[0], keyServer, "127.0.0.1", "discovery")

	// A failed discovery: the span says why in a closed-set word.
	a.FailDiscovery(3, testutil.Fault{Status: http.StatusNotFound})
	_, err = telemetryClient(t, a, m, tr, authority.Config{Issuer: a.Issuer()}).Metadata(context.Background())
	require.Error(t, err)
	disc = tr.Ended(spanDiscovery)
	require.Len(t, disc, 2)
	assert.Equal(t, sdktrace.Status{Code: codes.Error, Description: "refused"}, disc[1].Status())
}

// TestCachedSourceTelemetry drives a CachedSource by its clock through an
// initial grant, failing background renewals and a recovery, and checks
// its spans, its counter and its rate-limited log lines.
func TestCachedSourceTelemetry(t *testing.T) {
	clock := newFakeClock()
	a := newAuthority(t, testutil.Options{Now: clock.Now, TokenLifetime: 10 * time.Minute})
	m, tr := oteltest.NewMetrics(t), oteltest.NewTraces(t)
	var logs testutil.LogBuffer
	c := telemetryClient(t, a, m, tr, authority.Config{Now: clock.Now,
		Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	ts := authority.NewCachedSource(c, authority.ClientCredentialsRequest{}, authority.CachedSourceOptions{Skew: 4 * time.Minute})
	ended := renewalEnds(ts)

	ctx, parent := tr.Provider.Tracer("test").Start(context.Background(), "caller")
	_, err := ts.Token(ctx)
	parent.End()
	require.NoError(t, err)
	require.NoError(t, waitRenewal(t, ended))

	renews := tr.Ended(spanRenew)
	require.Len(t, renews, 1)
	r := renews[0]
	assert.Equal(t, trace.SpanKindInternal, r.SpanKind())
	assert.NotEqual(t, parent.SpanContext().TraceID(), r.SpanContext().TraceID(), "a shared renewal is a root of its own")
	assert.False(t, r.Parent().IsValid())
	require.Len(t, r.Links(), 1)
	assert.Equal(t, parent.SpanContext().SpanID(), r.Links()[0].SpanContext.SpanID(), "linked to the caller that started it")
	assertAttr(t, r, keyGrant, "client_credentials", "initial")
	assertAttr(t, r, keyOutcome, "success", "initial")
	assertAttr(t, r, keyBackground, "false", "initial")
	tok := tr.Ended(spanToken)
	require.Len(t, tok, 1)
	assert.Equal(t, r.SpanContext().SpanID(), tok[0].Parent().SpanID(), "the token request is the renewal's child")

	// Background renewals fail: one Warn a minute, then the count of
	// those held back.
	a.InjectFaults(3, testutil.Fault{Status: http.StatusServiceUnavailable})
	for _, step := range []time.Duration{6*time.Minute + 10*time.Second, 5 * time.Second, 61 * time.Second} {
		clock.Advance(step)
		_, err := ts.Token(context.Background())
		require.NoError(t, err, "the current token is served while renewals fail")
		require.Error(t, waitRenewal(t, ended))
	}
	warns := logLines(t, logs.String(), "WARN")
	require.Len(t, warns, 2, logs.String())
	assert.Contains(t, warns[0]["msg"], "background renewal failed")
	assert.Equal(t, "client_credentials", warns[0]["grant"])
	assert.Nil(t, warns[0]["code"], "a bare 503 has no OAuth code")
	assert.EqualValues(t, 1, warns[0]["failures"])
	assert.EqualValues(t, time.Second, warns[0]["retry_in"])
	assert.Contains(t, warns[0]["error"], "HTTP 503")
	assert.Nil(t, warns[0]["suppressed"])
	assert.EqualValues(t, 3, warns[1]["failures"])
	assert.EqualValues(t, 1, warns[1]["suppressed"])

	// The authority is back: one Info line says so.
	clock.Advance(5 * time.Second)
	_, err = ts.Token(context.Background())
	require.NoError(t, err)
	require.NoError(t, waitRenewal(t, ended))
	infos := logLines(t, logs.String(), "INFO")
	require.Len(t, infos, 1, logs.String())
	assert.Contains(t, infos[0]["msg"], "renewal succeeded after failures")
	assert.EqualValues(t, 3, infos[0]["failures"])

	assert.Equal(t, int64(2), m.Int64(t, metricRenewals, keyGrant.String("client_credentials"), keyOutcome.String("success")))
	assert.Equal(t, int64(3), m.Int64(t, metricRenewals, keyGrant.String("client_credentials"), keyOutcome.String("error")))
	renews = tr.Ended(spanRenew)
	require.Len(t, renews, 5)
	for i, r := range renews[1:] {
		assertAttr(t, r, keyBackground, "true", "background")
		assert.Empty(t, r.Links(), "a background renewal started by a caller without a span has no link")
		if i < 3 {
			assert.Equal(t, sdktrace.Status{Code: codes.Error, Description: "error"}, r.Status())
		}
	}

	// The hot path: a valid cached token starts no span and records
	// nothing.
	before := len(tr.Ended(""))
	for range 100 {
		_, err := ts.Token(context.Background())
		require.NoError(t, err)
	}
	assert.Len(t, tr.Ended(""), before)
	assert.Equal(t, int64(5), m.Int64(t, metricRenewals))
}

// TestCachedSourceRefreshRefusedTelemetry: a refused refresh token is a
// Warn line, a span event, and a fresh grant in the same renewal span.
func TestCachedSourceRefreshRefusedTelemetry(t *testing.T) {
	clock := newFakeClock()
	a := newAuthority(t, testutil.Options{Now: clock.Now, TokenLifetime: 2 * time.Minute})
	m, tr := oteltest.NewMetrics(t), oteltest.NewTraces(t)
	var logs testutil.LogBuffer
	c := telemetryClient(t, a, m, tr, authority.Config{Now: clock.Now, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	ts := authority.NewCachedSource(c, authority.PasswordRequest{Username: "alice", Password: "wonderland"}, authority.CachedSourceOptions{})
	ended := renewalEnds(ts)

	_, err := ts.Token(context.Background())
	require.NoError(t, err)
	require.NoError(t, waitRenewal(t, ended))
	a.RevokeUserSessions("alice")
	clock.Advance(3 * time.Minute) // expired: the caller waits
	_, err = ts.Token(context.Background())
	require.NoError(t, err)
	require.NoError(t, waitRenewal(t, ended))

	renews := tr.Ended(spanRenew)
	require.Len(t, renews, 2)
	r := renews[1]
	assertAttr(t, r, keyGrant, "password", "fallback")
	assertAttr(t, r, keyOutcome, "success", "fallback")
	assertAttr(t, r, keyBackground, "false", "fallback")
	require.Len(t, r.Events(), 1)
	assert.Equal(t, "refresh token refused; fresh grant", r.Events()[0].Name)
	var grants []string
	for _, s := range tr.Ended(spanToken) {
		if s.Parent().SpanID() == r.SpanContext().SpanID() {
			g, _ := oteltest.Attr(s, keyGrant)
			o, _ := oteltest.Attr(s, keyOutcome)
			e, _ := oteltest.Attr(s, keyOAuthError)
			grants = append(grants, g+"/"+o+"/"+e)
		}
	}
	assert.Equal(t, []string{"refresh_token/refused/invalid_grant", "password/success/"}, grants)
	assert.Equal(t, int64(2), m.Int64(t, metricRenewals, keyGrant.String("password"), keyOutcome.String("success")))
	assert.Equal(t, uint64(1), m.HistogramCount(t, metricDuration, keyGrant.String("refresh_token"), keyOutcome.String("refused"), keyOAuthError.String("invalid_grant")))

	warns := logLines(t, logs.String(), "WARN")
	require.Len(t, warns, 1, logs.String())
	assert.Contains(t, warns[0]["msg"], "refresh token was refused")
	assert.Equal(t, "invalid_grant", warns[0]["code"])
}

// TestTelemetryLeaksNothing runs every grant with distinctive secrets and
// tokens, a refusal whose description names a user, and background
// renewals, and searches every metric string, span string and log line.
func TestTelemetryLeaksNothing(t *testing.T) {
	const (
		clientSecret = "CLIENT-SECRET-q7Zr"
		user         = "alice@example.com"
		password     = "PASSWORD-w0nderl4nd"
	)
	clock := newFakeClock()
	a := testutil.NewAuthority(t, testutil.Options{Now: clock.Now, TokenLifetime: 2 * time.Minute})
	a.AddClient(testutil.Client{ID: "leaky", Secret: clientSecret})
	a.AddAudience("orders")
	a.AddUser(user, password)
	m, tr := oteltest.NewMetrics(t), oteltest.NewTraces(t)
	var logs testutil.LogBuffer
	c := telemetryClient(t, a, m, tr, authority.Config{ClientID: "leaky", ClientSecret: clientSecret, Now: clock.Now,
		Propagator: propagation.TraceContext{},
		Logger:     slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	ctx := context.Background()

	subject := a.UserToken(user, "web", "leaky")
	actor := a.UserToken("actor-service", "leaky", "leaky")
	secrets := []string{clientSecret, password, subject, actor}

	cc, err := c.ClientCredentials(ctx, authority.ClientCredentialsRequest{})
	require.NoError(t, err)
	pw, err := c.Password(ctx, authority.PasswordRequest{Username: user, Password: password})
	require.NoError(t, err)
	rf, err := c.Refresh(ctx, authority.RefreshRequest{RefreshToken: pw.RefreshToken})
	require.NoError(t, err)
	ex, err := c.Exchange(ctx, authority.ExchangeRequest{SubjectToken: subject, ActorToken: actor, Audiences: []string{"orders"}})
	require.NoError(t, err)
	secrets = append(secrets, cc.AccessToken, pw.AccessToken, pw.RefreshToken, rf.AccessToken, rf.RefreshToken, ex.AccessToken)

	// A refusal whose description names the user, from each grant.
	refusal := testutil.Fault{Kind: testutil.FaultRaw, Status: 400, Header: http.Header{"Content-Type": {"application/json"}},
		Body: `{"error":"invalid_grant","error_description":"session of ` + user + ` is not active"}`}
	a.InjectFaults(2, refusal)
	_, err = c.Refresh(ctx, authority.RefreshRequest{RefreshToken: rf.RefreshToken})
	require.ErrorIs(t, err, authority.ErrInvalidGrant)
	_, err = c.Exchange(ctx, authority.ExchangeRequest{SubjectToken: subject, Audiences: []string{"orders"}})
	require.ErrorIs(t, err, authority.ErrInvalidGrant)

	// A CachedSource whose refresh is refused that way (a Warn line with
	// the sanitized error), then whose background renewal fails.
	ts := authority.NewCachedSource(c, authority.PasswordRequest{Username: user, Password: password}, authority.CachedSourceOptions{})
	ended := renewalEnds(ts)
	first, err := ts.Token(ctx)
	require.NoError(t, err)
	require.NoError(t, waitRenewal(t, ended))
	secrets = append(secrets, first.AccessToken, first.RefreshToken)
	clock.Advance(3 * time.Minute)
	a.InjectFaults(1, refusal)
	second, err := ts.Token(ctx)
	require.NoError(t, err)
	require.NoError(t, waitRenewal(t, ended))
	secrets = append(secrets, second.AccessToken, second.RefreshToken)
	clock.Advance(100 * time.Second) // inside the skew
	a.InjectFaults(2, refusal)
	_, err = ts.Token(ctx)
	require.NoError(t, err)
	require.Error(t, waitRenewal(t, ended))

	out := logs.String()
	require.Contains(t, out, "background renewal failed")
	require.Contains(t, out, "refresh token was refused")
	everything := map[string][]string{"metrics": m.Strings(t), "spans": tr.Strings()}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		everything["logs"] = append(everything["logs"], line)
	}
	for where, strs := range everything {
		for _, s := range strs {
			for _, secret := range secrets {
				require.NotEmpty(t, secret)
				assert.NotContains(t, s, secret, "a secret or token in the %s", where)
				// A token's signature alone is as bad.
				if i := strings.LastIndexByte(secret, '.'); i > 0 && len(secret)-i > 16 {
					assert.NotContains(t, s, secret[i+1:], "a token's signature in the %s", where)
				}
			}
			if where != "logs" {
				assert.NotContains(t, s, user, "the user in the %s", where)
				assert.NotContains(t, s, "alice", "the user in the %s", where)
			}
		}
	}
	// In the logs, the user name appears only in the sanitized error of a
	// Warn line.
	for _, rec := range logLines(t, out, "") {
		for k, v := range rec {
			if s, ok := v.(string); ok && strings.Contains(s, "alice") {
				assert.Equal(t, "WARN", rec["level"], "%v", rec)
				assert.Equal(t, "error", k, "%v", rec)
			}
		}
	}
}

// logLines parses JSON log output and returns the records of level (all
// when empty).
func logLines(t *testing.T, out, level string) []map[string]any {
	t.Helper()
	var recs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
		if level == "" || rec["level"] == level {
			recs = append(recs, rec)
		}
	}
	return recs
}

// assertAttr checks span s's attribute key: want, or absent when want is
// "".
func assertAttr(t *testing.T, s sdktrace.ReadOnlySpan, key attribute.Key, want, msg string) {
	t.Helper()
	got, ok := oteltest.Attr(s, key)
	if want == "" {
		assert.False(t, ok, "%s: %s should be absent, is %q", msg, key, got)
		return
	}
	assert.Equal(t, want, got, "%s: %s", msg, key)
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
