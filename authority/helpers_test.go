package authority_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"
	"time"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/testutil"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/stretchr/testify/require"
)

// newAuthority starts a testutil authority with the clients and users the
// tests share.
func newAuthority(t *testing.T, opts testutil.Options) *testutil.Authority {
	t.Helper()
	a := testutil.NewAuthority(t, opts)
	a.AddClient(testutil.Client{ID: "gateway", Secret: "gateway-secret", ExchangeAudiences: []string{"orders", "billing"}})
	a.AddClient(testutil.Client{ID: "poster", Secret: "poster secret&=", AuthMethod: "client_secret_post"})
	a.AddClient(testutil.Client{ID: "public", AuthMethod: "none"})
	a.AddClient(testutil.Client{ID: "id:with space", Secret: "s3cr:et+/%"})
	a.AddUser("alice", "wonderland")
	return a
}

// newClient builds an authority.Client for the test authority.
func newClient(t *testing.T, a *testutil.Authority, cfg authority.Config) *authority.Client {
	t.Helper()
	if cfg.Issuer == "" && cfg.TokenURL == "" {
		cfg.TokenURL = a.TokenURL()
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = a.Client()
	}
	c, err := authority.New(cfg)
	require.NoError(t, err)
	return c
}

// claims parses a token the test authority issued, without verifying it.
func claims(t *testing.T, raw string) jwt.Token {
	t.Helper()
	tok, err := jwt.ParseInsecure([]byte(raw))
	require.NoError(t, err)
	return tok
}

// newECKey returns a fresh P-256 key for private_key_jwt.
func newECKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	return k
}

// newFakeClock returns a clock the test moves by hand, stopped at a whole
// second near now.
func newFakeClock() *testutil.Clock { return testutil.NewClock(time.Now().Truncate(time.Second)) }
