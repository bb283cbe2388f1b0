package jwt_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"

	"github.com/go-tokenexchange/tokenexchange/internal/oteltest"
	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/middleware/jwt"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

const (
	lookupsMetric = "tokenexchange.jwt.verified_cache.lookups"
	entriesMetric = "tokenexchange.jwt.verified_cache.entries"
)

var (
	hit  = attribute.String("tokenexchange.lookup", "hit")
	miss = attribute.String("tokenexchange.lookup", "miss")
)

// clockedValidator is a validator on the authority's clock, with its
// metrics in m.
func clockedValidator(t *testing.T, a *testutil.Authority, clock *testutil.Clock, cfg jwt.Config) (*jwt.Validator, *oteltest.Metrics) {
	t.Helper()
	m := oteltest.NewMetrics(t)
	cfg.Issuer, cfg.HTTPClient, cfg.MeterProvider = a.Issuer(), a.Client(), m.Provider
	if cfg.Audience == nil {
		cfg.Audience = []string{"api"}
	}
	if clock != nil {
		cfg.Now = clock.Now
	}
	v, err := jwt.New(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(v.Close)
	return v, m
}

// A token seen before is answered from the cache, until its exp (with
// the leeway) or the maximum age, whichever comes first; past exp it is
// refused as the uncached path refuses it.
func TestVerifiedCacheLifetime(t *testing.T) {
	t0 := time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		exp     time.Duration // token lifetime from t0
		maxAge  time.Duration
		advance time.Duration
		wantErr error // after advance
		hits    int64 // lookups that hit, of three validations
	}{
		{"within both", time.Hour, time.Minute, 30 * time.Second, nil, 2},
		{"past max age: verified again", time.Hour, time.Minute, 61 * time.Second, nil, 1},
		{"within exp's leeway", time.Minute, time.Hour, time.Minute + 29*time.Second, nil, 2},
		{"past exp plus leeway", time.Minute, time.Hour, time.Minute + 30*time.Second, middleware.ErrExpired, 1},
		{"far past exp", time.Minute, time.Hour, time.Hour, middleware.ErrExpired, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := testutil.NewClock(t0)
			a := testutil.NewAuthority(t, testutil.Options{Now: clock.Now})
			v, m := clockedValidator(t, a, clock, jwt.Config{VerifiedCacheMaxAge: tc.maxAge})
			tok := sub(a.IssueToken(testutil.TokenClaims{Subject: "alice", Audience: []string{"api"}, Expiry: t0.Add(tc.exp)}))
			first, err := v.Validate(context.Background(), tok)
			require.NoError(t, err)
			again, err := v.Validate(context.Background(), tok)
			require.NoError(t, err)
			require.Same(t, first, again, "a hit returns the claims verified")

			clock.Advance(tc.advance)
			_, err = v.Validate(context.Background(), sub(tok.Value()))
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, tc.hits, m.Int64(t, lookupsMetric, hit))
			require.Equal(t, 3-tc.hits, m.Int64(t, lookupsMetric, miss))
		})
	}
}

// An entry verified with a key that leaves the key set is dropped at the
// refresh that sees it go, and the token is refused from then on.
func TestVerifiedCacheKeyRemoved(t *testing.T) {
	a := testutil.NewAuthority(t, testutil.Options{})
	v, m := clockedValidator(t, a, nil, jwt.Config{MinRefetchInterval: time.Nanosecond})
	oldKid := a.ActiveKeyID()
	old := sub(a.IssueToken(testutil.TokenClaims{Subject: "alice", Audience: []string{"api"}}))
	_, err := v.Validate(context.Background(), old)
	require.NoError(t, err)
	_, err = v.Validate(context.Background(), old)
	require.NoError(t, err)
	require.EqualValues(t, 1, m.Int64(t, lookupsMetric, hit))
	require.EqualValues(t, 1, m.Int64(t, entriesMetric))

	a.RotateKey()
	a.RemoveKey(oldKid)
	// A token with the new kid makes the validator refetch the key set
	// and wait for it: the refresh has happened when this returns.
	_, err = v.Validate(context.Background(), sub(a.IssueToken(testutil.TokenClaims{Subject: "bob", Audience: []string{"api"}})))
	require.NoError(t, err)
	require.EqualValues(t, 1, m.Int64(t, entriesMetric), "the old key's entry was dropped at the refresh; bob's is there")

	for range 3 {
		_, err = v.Validate(context.Background(), old)
		require.ErrorIs(t, err, middleware.ErrUnknownKey)
	}
	require.EqualValues(t, 1, m.Int64(t, lookupsMetric, hit), "no hit for the removed key's token")
}

// Two validators with different audiences never share an entry: each
// cache is its own.
func TestVerifiedCachePerValidator(t *testing.T) {
	a := testutil.NewAuthority(t, testutil.Options{})
	api, _ := clockedValidator(t, a, nil, jwt.Config{Audience: []string{"api"}})
	other, mo := clockedValidator(t, a, nil, jwt.Config{Audience: []string{"other"}})
	tok := sub(a.IssueToken(testutil.TokenClaims{Subject: "alice", Audience: []string{"api"}}))
	for range 3 {
		_, err := api.Validate(context.Background(), tok)
		require.NoError(t, err)
		_, err = other.Validate(context.Background(), tok)
		require.ErrorIs(t, err, middleware.ErrInvalidAudience)
	}
	require.Zero(t, mo.Int64(t, lookupsMetric, hit))
	require.Zero(t, mo.Int64(t, entriesMetric))
}

// A token that fails is checked again every time and never admitted: no
// refusal is remembered, and refusals take no room.
func TestVerifiedCacheRefusalsNotCached(t *testing.T) {
	key := rsaKey(t)
	url, _ := serveKeys(t, pubJWK(t, key, "k1", ""))
	m := oteltest.NewMetrics(t)
	var policyCalls atomic.Int32
	refuse := atomic.Bool{}
	v := staticValidator(t, url, jwt.Config{
		MeterProvider: m.Provider,
		CheckClaims: func(context.Context, *middleware.Claims) error {
			policyCalls.Add(1)
			if refuse.Load() {
				return errors.New("policy says no")
			}
			return nil
		},
	})
	sign := signer(t, jwa.RS256, key)
	good := craft(t, map[string]any{"alg": "RS256", "kid": "k1"}, goodClaims(), sign)
	wrongAud := goodClaims()
	wrongAud["aud"] = "other"
	for _, tc := range []struct {
		name  string
		token string
		want  error
	}{
		{"forged signature", tamper(good), middleware.ErrInvalidSignature},
		{"wrong audience", craft(t, map[string]any{"alg": "RS256", "kid": "k1"}, wrongAud, sign), middleware.ErrInvalidAudience},
		{"not a JWT", "abc.def", middleware.ErrMalformedToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range 3 {
				_, err := v.Validate(context.Background(), sub(tc.token))
				require.ErrorIs(t, err, tc.want)
			}
		})
	}
	require.Zero(t, m.Int64(t, lookupsMetric, hit))
	require.Zero(t, m.Int64(t, entriesMetric))

	// Refused by the policy: not remembered either.
	refuse.Store(true)
	for range 2 {
		_, err := v.Validate(context.Background(), sub(good))
		require.ErrorIs(t, err, middleware.ErrRejected)
	}
	require.Zero(t, m.Int64(t, entriesMetric))
	// Accepted: remembered, and CheckClaims runs again on every hit, so a
	// policy that changes its mind refuses a cached token.
	refuse.Store(false)
	policyCalls.Store(0)
	for range 3 {
		_, err := v.Validate(context.Background(), sub(good))
		require.NoError(t, err)
	}
	require.EqualValues(t, 3, policyCalls.Load())
	require.EqualValues(t, 2, m.Int64(t, lookupsMetric, hit))
	refuse.Store(true)
	_, err := v.Validate(context.Background(), sub(good))
	require.ErrorIs(t, err, middleware.ErrRejected)
}

// With the cache turned off, nothing is looked up or remembered.
func TestVerifiedCacheOff(t *testing.T) {
	a := testutil.NewAuthority(t, testutil.Options{})
	v, m := clockedValidator(t, a, nil, jwt.Config{VerifiedCacheMaxEntries: -1})
	tok := sub(a.IssueToken(testutil.TokenClaims{Subject: "alice", Audience: []string{"api"}}))
	first, err := v.Validate(context.Background(), tok)
	require.NoError(t, err)
	again, err := v.Validate(context.Background(), tok)
	require.NoError(t, err)
	require.NotSame(t, first, again)
	require.Equal(t, first, again)
	_, found := m.Find(t, lookupsMetric)
	require.False(t, found)
}

// Negative bounds other than MaxEntries are configuration errors.
func TestVerifiedCacheConfig(t *testing.T) {
	a := testutil.NewAuthority(t, testutil.Options{})
	for _, cfg := range []jwt.Config{{VerifiedCacheMaxBytes: -1}, {VerifiedCacheMaxAge: -time.Second}} {
		cfg.Issuer, cfg.Audience, cfg.HTTPClient = a.Issuer(), []string{"api"}, a.Client()
		_, err := jwt.New(context.Background(), cfg)
		require.Error(t, err)
	}
}
