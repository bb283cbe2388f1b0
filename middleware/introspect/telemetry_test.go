package introspect

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/internal/semconv"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// TestTelemetry: lookups, introspections by outcome, durations and spans
// of a scripted sequence.
func TestTelemetry(t *testing.T) {
	e := newEnv(t, nil)
	active, other := e.token("alice"), e.a.IssueOpaqueToken(testutil.TokenClaims{Subject: "bob", Audience: []string{"orders"}})
	require.Equal(t, 200, e.serve(active).Code)        // miss, active
	require.Equal(t, 200, e.serve(active).Code)        // hit
	require.Equal(t, 401, e.serve("opaque.none").Code) // miss, inactive
	require.Equal(t, 401, e.serve("opaque.none").Code) // negative hit
	require.Equal(t, 401, e.serve(other).Code)         // miss, refused
	e.a.FailIntrospection(1, testutil.Fault{Status: 503})
	require.Equal(t, 503, e.serve(e.token("carol")).Code) // miss, unavailable

	m := e.metrics
	for name, want := range map[string]int64{"hit": 1, "negative_hit": 1, "miss": 4, "coalesced": 0} {
		assert.Equal(t, want, m.Int64(t, metricLookups, lookup(name)), name)
	}
	for name, want := range map[string]int64{"active": 1, "inactive": 1, "refused": 1, "unavailable": 1} {
		assert.Equal(t, want, m.Int64(t, metricIntrospections, semconv.Outcome.String(name)), name)
		assert.EqualValues(t, want, m.HistogramCount(t, metricDuration, semconv.Outcome.String(name)), name)
	}
	assert.EqualValues(t, 0, m.Int64(t, metricInFlight))
	assert.EqualValues(t, 1, m.Int64(t, metricEntries, lookup("hit")))
	assert.EqualValues(t, 2, m.Int64(t, metricEntries, lookup("negative_hit")))
	spans := e.traces.Ended(spanIntrospect)
	require.Len(t, spans, 4)
	for _, s := range spans {
		assert.Equal(t, "internal", s.SpanKind().String())
	}
	// The Client's span is the child of the validator's.
	clientSpans := e.traces.Ended("tokenexchange.authority.introspect")
	require.Len(t, clientSpans, 4)
	assert.Equal(t, spans[0].SpanContext().SpanID(), clientSpans[0].Parent().SpanID())
}

// TestNoLeak: after answers of every kind, the token is in no error, log
// record, metric or span.
func TestNoLeak(t *testing.T) {
	e := newEnv(t, nil)
	const marker = "LEAKMARKER"
	var errs []string
	record := func(tok string) {
		_, err := e.v.Validate(context.Background(), authority.NewSubjectToken(tok))
		if err != nil {
			errs = append(errs, err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err))
		}
	}
	record("opaque." + marker + "-unknown")
	e.a.FailIntrospection(1, testutil.Fault{Kind: testutil.FaultRaw, Status: 500, Header: http.Header{"Content-Type": {"text/plain"}},
		Body: "error for opaque." + marker + "-echoed"})
	record("opaque." + marker + "-echoed")
	e.a.FailIntrospection(1, testutil.Fault{Kind: testutil.FaultRaw, Status: 400, Header: http.Header{"Content-Type": {"application/json"}},
		Body: `{"error":"invalid_request","error_description":"bad token opaque.` + marker + `-described"}`})
	record("opaque." + marker + "-described")
	e.a.FailIntrospection(1, testutil.Fault{Kind: testutil.FaultHTML, Status: 200})
	record("opaque." + marker + "-html")

	var all []string
	all = append(all, errs...)
	all = append(all, e.logs.String())
	all = append(all, e.metrics.Strings(t)...)
	all = append(all, e.traces.Strings()...)
	for _, s := range all {
		assert.NotContains(t, s, marker)
	}
	assert.NotContains(t, e.logs.String(), gatewaySecret)
	assert.Contains(t, e.logs.String(), "introspection failed", "the failures were logged")
	assert.Len(t, errs, 3*4)
}
