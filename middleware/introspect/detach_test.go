package introspect

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/middleware"
)

// contextProbe is the real transport, noting whether the introspection
// request's context carries a value of the caller's.
type contextProbe struct {
	base   http.RoundTripper
	leaked atomic.Bool
}

type callerKey struct{}

func (p *contextProbe) RoundTrip(req *http.Request) (*http.Response, error) {
	_, hasSubject := middleware.SubjectFromContext(req.Context())
	if hasSubject || req.Context().Value(callerKey{}) != nil {
		p.leaked.Store(true)
	}
	return p.base.RoundTrip(req)
}

// TestFlightKeepsNoCallerValues: the shared introspection runs detached
// from the request that started it: neither the inbound token the
// middleware put in that request's context nor any other of its values
// reaches the authority's HTTP client.
func TestFlightKeepsNoCallerValues(t *testing.T) {
	probe := &contextProbe{}
	e := newEnv(t, nil)
	probe.base = e.a.Client().Transport
	client, err := authority.New(authority.Config{Issuer: e.a.Issuer(), ClientID: "gateway", ClientSecret: gatewaySecret,
		HTTPClient: &http.Client{Transport: probe}})
	require.NoError(t, err)
	v, err := New(context.Background(), Config{Client: client, Audience: []string{"gateway"}, Now: e.clock.Now})
	require.NoError(t, err)
	t.Cleanup(v.Close)
	h := middleware.Bearer(middleware.Options{Validator: v})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))

	rec := serveWith(h, context.WithValue(context.Background(), callerKey{}, "request-scoped"), e.token("alice"))
	require.Equal(t, http.StatusOK, rec.Code)
	assert.False(t, probe.leaked.Load(), "a value of the caller's context reached the introspection request")
}
