package outbound_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/internal/oteltest"
	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/outbound"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// Attribute keys and instruments as the package documentation lists them.
const (
	keyRoute   = attribute.Key("tokenexchange.route")
	keyOutcome = attribute.Key("tokenexchange.outcome")
	keyReason  = attribute.Key("tokenexchange.reason")

	metricRetries = "tokenexchange.outbound.retries"
	metricWindows = "tokenexchange.outbound.refusal_windows"
	metricErrors  = "tokenexchange.outbound.errors"
)

// namingExchanger passes exchanges on to an Exchanger and records the
// Name each prepared target carries, as the exchanger's telemetry sees it.
type namingExchanger struct {
	*exchange.Exchanger
	mu    sync.Mutex
	names []string
}

func (n *namingExchanger) ExchangePrepared(ctx context.Context, subject authority.SubjectToken, target *exchange.Prepared) (*authority.Token, error) {
	name := target.Name()
	n.mu.Lock()
	n.names = append(n.names, name)
	n.mu.Unlock()
	return n.Exchanger.ExchangePrepared(ctx, subject, target)
}

// TestTelemetry runs a scripted sequence through a transport (a 401 then
// a resend; a storm of 401s that opens a refusal window; a body that
// cannot be replayed; every reason for an error) and checks each value
// of its counters.
func TestTelemetry(t *testing.T) {
	e := newEnv(t)
	m := oteltest.NewMetrics(t)
	nx := &namingExchanger{Exchanger: e.x}
	bad := newClient(t, e.a, "gateway", "wrong-secret")
	tr := newTransport(t, outbound.Options{
		Exchanger:     nx,
		MeterProvider: m.Provider,
		Routes: []outbound.Route{
			{Name: "orders", URL: e.orders.URL + "/orders", Mode: outbound.ModeExchange, Target: exchange.Target{Audiences: []string{"orders"}}},
			// Misconfigured: a token for billing sent to orders.
			{Name: "wrong-audience", URL: e.orders.URL + "/wrong", Mode: outbound.ModeExchange, Target: exchange.Target{Audiences: []string{"billing"}}},
			// Unnamed: named by its URL, its target keeps its own name.
			{URL: e.orders.URL + "/admin", Mode: outbound.ModeExchange, Target: exchange.Target{Name: "admin-target", Audiences: []string{"orders"}}},
			{URL: e.billing.URL, Mode: outbound.ModeOwnToken, Tokens: authority.NewCachedSource(bad, authority.ClientCredentialsRequest{}, authority.CachedSourceOptions{})},
		},
	})
	alice := e.a.UserToken("alice", "web")
	inbound := middleware.NewContext(context.Background(), alice)
	var anonymous context.Context
	middleware.Bearer(middleware.Options{Optional: true})(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		anonymous = r.Context()
	})).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	require.NotNil(t, anonymous)

	send := func(ctx context.Context, method, url string, body io.Reader, edit func(*http.Request)) (int, error) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, method, url, body)
		require.NoError(t, err)
		if edit != nil {
			edit(req)
		}
		resp, err := tr.RoundTrip(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode, nil
	}

	// A 401 for a good token: one re-exchange, one resend.
	e.orders.FailNext(1, http.StatusUnauthorized)
	status, err := send(inbound, http.MethodGet, e.orders.URL+"/orders/1", nil, nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, status)

	// A storm on the misconfigured route: the first request is resent
	// and refused again, which opens a window; the others are passed on.
	for range 5 {
		status, err := send(inbound, http.MethodGet, e.orders.URL+"/wrong/1", nil, nil)
		require.NoError(t, err)
		assert.Equal(t, http.StatusUnauthorized, status)
	}

	// A 401 for a request whose body cannot be replayed (no GetBody).
	e.orders.FailNext(1, http.StatusUnauthorized)
	status, err = send(inbound, http.MethodPost, e.orders.URL+"/admin/1", io.NopCloser(strings.NewReader("once")), nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusUnauthorized, status)

	// Each reason for an error.
	e.a.InjectFaults(1, testutil.Fault{Kind: testutil.FaultOAuthError, Status: 400, Body: "invalid_request"})
	for _, tc := range []struct {
		ctx    context.Context
		url    string
		edit   func(*http.Request)
		reason string
	}{
		{inbound, "http://unrouted.internal/x", nil, "no_route"},
		{inbound, e.orders.URL + "/orders/..%2Fadmin/x", nil, "ambiguous_path"},
		{inbound, e.orders.URL + "/orders/2", func(r *http.Request) { r.Host = "elsewhere.internal" }, "host_mismatch"},
		{anonymous, e.orders.URL + "/orders/3", nil, "no_subject_token"},
		{context.Background(), e.orders.URL + "/orders/4", nil, "no_inbound_context"},
		{middleware.NewContext(context.Background(), e.a.UserToken("bob", "web")), e.orders.URL + "/orders/5", nil, "exchange"},
		{inbound, e.billing.URL + "/6", nil, "token_source"},
	} {
		_, err := send(tc.ctx, http.MethodGet, tc.url, nil, tc.edit)
		require.Error(t, err, tc.reason)
	}

	retries := func(route, outcome string) int64 {
		return m.Int64(t, metricRetries, keyRoute.String(route), keyOutcome.String(outcome))
	}
	adminRoute := e.orders.URL + "/admin"
	assert.Equal(t, int64(1), retries("orders", "resent"))
	assert.Equal(t, int64(1), retries("wrong-audience", "resent"))
	assert.Equal(t, int64(4), retries("wrong-audience", "passed_on"))
	assert.Equal(t, int64(1), retries(adminRoute, "no_body"))
	assert.Equal(t, int64(7), m.Int64(t, metricRetries))
	assert.Equal(t, int64(1), m.Int64(t, metricWindows, keyRoute.String("wrong-audience")))
	assert.Equal(t, int64(1), m.Int64(t, metricWindows))
	assert.Equal(t, outbound.Stats{Retries: 2, FreshRefused: 1, PassedOn: 4, RefusalEntries: 1}, tr.Stats(), "the counters agree with Stats")

	errs := func(reason string, route ...string) int64 {
		attrs := []attribute.KeyValue{keyReason.String(reason)}
		for _, r := range route {
			attrs = append(attrs, keyRoute.String(r))
		}
		return m.Int64(t, metricErrors, attrs...)
	}
	assert.Equal(t, int64(1), errs("no_route"))
	assert.Equal(t, int64(1), errs("ambiguous_path"))
	assert.Equal(t, int64(1), errs("host_mismatch", "orders"))
	assert.Equal(t, int64(1), errs("no_subject_token", "orders"))
	assert.Equal(t, int64(1), errs("no_inbound_context", "orders"))
	assert.Equal(t, int64(1), errs("exchange", "orders"))
	assert.Equal(t, int64(1), errs("token_source", e.billing.URL))
	assert.Equal(t, int64(7), m.Int64(t, metricErrors))
	for _, s := range m.Strings(t) {
		assert.NotContains(t, s, "..%2F", "a request path in the metrics")
		assert.NotContains(t, s, "/orders/", "a request path in the metrics")
	}

	// Exchanges are named by route, unless their Target names itself.
	nx.mu.Lock()
	names := nx.names
	nx.mu.Unlock()
	assert.Subset(t, names, []string{"orders", "wrong-audience", "admin-target"})
	for _, n := range names {
		assert.Contains(t, []string{"orders", "wrong-audience", "admin-target"}, n)
	}
}

// TestTelemetryInstruments checks the units and descriptions, and that a
// transport without a MeterProvider and the zero Transport count nothing
// and do not fail.
func TestTelemetryInstruments(t *testing.T) {
	e := newEnv(t)
	m := oteltest.NewMetrics(t)
	tr := newTransport(t, outbound.Options{Exchanger: e.x, MeterProvider: m.Provider,
		Routes: []outbound.Route{{URL: e.orders.URL, Mode: outbound.ModeExchange, Target: exchange.Target{Audiences: []string{"orders"}}}}})
	_, err := get(t, tr, "", "http://unrouted.internal/")
	require.Error(t, err)
	e.orders.FailNext(1, http.StatusUnauthorized)
	assert.Equal(t, http.StatusOK, mustGet(t, tr, e.a.UserToken("alice", "web"), e.orders.URL+"/x"))
	for name, unit := range map[string]string{metricErrors: "{request}", metricRetries: "{retry}"} {
		mt, ok := m.Find(t, name)
		require.True(t, ok, name)
		assert.Equal(t, unit, mt.Unit, name)
		assert.NotEmpty(t, mt.Description, name)
	}

	var zero outbound.Transport
	_, err = get(t, &zero, "", "http://unrouted.internal/")
	require.ErrorIs(t, err, outbound.ErrNoRoute)
}

// TestTelemetryLeaksNoToken checks that no subject token, exchanged token
// or own token appears in the metrics after requests that succeed, are
// retried, are passed on and fail.
func TestTelemetryLeaksNoToken(t *testing.T) {
	e := newEnv(t)
	m := oteltest.NewMetrics(t)
	own := e.ownTokens("billing")
	tr := newTransport(t, outbound.Options{
		Exchanger:     e.x,
		MeterProvider: m.Provider,
		Routes: []outbound.Route{
			{URL: e.orders.URL + "/orders", Mode: outbound.ModeExchange, Target: exchange.Target{Audiences: []string{"orders"}}},
			{URL: e.orders.URL + "/wrong", Mode: outbound.ModeExchange, Target: exchange.Target{Audiences: []string{"billing"}}},
			{URL: e.orders.URL + "/passed", Mode: outbound.ModePassThrough},
			{URL: e.billing.URL, Mode: outbound.ModeOwnToken, Tokens: own},
		},
	})
	alice, bob := e.a.UserToken("alice", "web"), e.a.UserToken("bob", "web")
	tokens := []string{alice, bob, gatewaySecret}
	for _, subject := range []string{alice, bob} {
		e.orders.FailNext(1, http.StatusUnauthorized)
		mustGet(t, tr, subject, e.orders.URL+"/orders/1")
		mustGet(t, tr, subject, e.orders.URL+"/wrong/1")
		mustGet(t, tr, subject, e.orders.URL+"/wrong/2")
		mustGet(t, tr, subject, e.orders.URL+"/passed/1")
		e.billing.FailNext(1, http.StatusUnauthorized)
		mustGet(t, tr, subject, e.billing.URL+"/1")
		_, err := get(t, tr, subject, e.orders.URL+"/orders/..%2Fpassed")
		require.Error(t, err)
	}
	e.a.InjectFaults(1, testutil.Fault{Kind: testutil.FaultOAuthError, Status: 400, Body: "invalid_request"})
	_, err := get(t, tr, e.a.UserToken("carol", "web"), e.orders.URL+"/orders/2")
	require.Error(t, err)
	for _, r := range append(e.orders.Received(), e.billing.Received()...) {
		tokens = append(tokens, r.Token)
	}
	tok, err := own.Token(context.Background())
	require.NoError(t, err)
	tokens = append(tokens, tok.AccessToken)

	strs := m.Strings(t)
	require.NotEmpty(t, strs)
	for _, s := range strs {
		for _, tok := range tokens {
			if tok == "" {
				continue
			}
			assert.NotContains(t, s, tok)
			if i := strings.LastIndexByte(tok, '.'); i > 0 && len(tok)-i > 16 {
				assert.NotContains(t, s, tok[i+1:], "a token's signature in the metrics")
			}
		}
		for _, user := range []string{"alice", "bob", "carol"} {
			assert.NotContains(t, s, user)
		}
	}
}
