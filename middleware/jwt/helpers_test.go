package jwt_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/middleware/jwt"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// sub wraps a raw token as the middleware hands it to a validator.
func sub(token string) authority.SubjectToken { return authority.NewSubjectToken(token) }

// countingTransport counts the requests per path that go through Base, a real
// transport; it does not answer anything itself.
type countingTransport struct {
	Base http.RoundTripper

	mu     sync.Mutex // guards counts
	counts map[string]int
}

func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c.mu.Lock()
	if c.counts == nil {
		c.counts = map[string]int{}
	}
	c.counts[req.URL.Path]++
	c.mu.Unlock()
	return c.Base.RoundTrip(req)
}

func (c *countingTransport) count(path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[path]
}

// newValidator starts an authority and a validator for audience "api" that
// finds the keys by discovery; the transport counts its fetches.
func newValidator(t *testing.T, cfg jwt.Config) (*testutil.Authority, *jwt.Validator, *countingTransport) {
	t.Helper()
	a := testutil.NewAuthority(t, testutil.Options{})
	ct := &countingTransport{Base: a.Client().Transport}
	cfg.Issuer = a.Issuer()
	if cfg.Audience == nil {
		cfg.Audience = []string{"api"}
	}
	cfg.HTTPClient = &http.Client{Transport: ct}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := jwt.New(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(v.Close)
	return a, v, ct
}
