package exchange_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

func TestNegativeCache(t *testing.T) {
	e := newEnv(t, exchange.Options{}, testutil.Options{}, nil)
	subject := e.subject("alice")
	unknown := exchange.Target{Audiences: []string{"api-unknown"}}

	_, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), unknown)
	require.ErrorIs(t, err, authority.ErrInvalidTarget)
	assert.True(t, authority.IsPermanent(err))
	noToken(t, err, subject)

	_, err = e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), unknown)
	require.ErrorIs(t, err, authority.ErrInvalidTarget, "remembered")
	assert.Contains(t, err.Error(), "exchange: refused recently")
	assert.Equal(t, 1, e.exchanges())
	assert.Equal(t, uint64(1), e.x.Stats().NegativeHits)

	// Only this key is refused.
	_, err = e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), exchange.Target{Audiences: []string{"api-a"}})
	require.NoError(t, err)

	e.clock.Advance(exchange.DefaultNegativeTTL)
	_, err = e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), unknown)
	require.ErrorIs(t, err, authority.ErrInvalidTarget)
	assert.Equal(t, 3, e.exchanges(), "asked again after the negative TTL")
}

func TestNegativeCacheOff(t *testing.T) {
	e := newEnv(t, exchange.Options{NegativeTTL: -1}, testutil.Options{}, nil)
	subject := e.subject("alice")
	for range 2 {
		_, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), exchange.Target{Audiences: []string{"api-unknown"}})
		require.ErrorIs(t, err, authority.ErrInvalidTarget)
	}
	assert.Equal(t, 2, e.exchanges())
}

func TestRevokedSubjectIsRefused(t *testing.T) {
	// RFC 8693 §2.2.2: an unacceptable subject token is invalid_request.
	// This one is signed by a key the authority does not know.
	e := newEnv(t, exchange.Options{}, testutil.Options{}, nil)
	other := testutil.NewAuthority(t, testutil.Options{Now: e.clock.Now, Algorithm: "ES256"})
	foreign := other.IssueToken(testutil.TokenClaims{Subject: "alice", Expiry: t0.Add(time.Hour)})
	_, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(foreign), exchange.Target{})
	require.ErrorIs(t, err, authority.ErrInvalidRequest)
	noToken(t, err, foreign)
	assert.Equal(t, 1, e.exchanges())
}

func TestExpiredSubjectIsRefusedLocally(t *testing.T) {
	e := newEnv(t, exchange.Options{}, testutil.Options{}, nil)
	for _, exp := range []time.Duration{-time.Minute, -time.Nanosecond, 0} {
		subject := e.a.IssueToken(testutil.TokenClaims{Subject: "alice", Expiry: t0.Add(exp), IssuedAt: t0.Add(-time.Hour)})
		_, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), exchange.Target{})
		require.ErrorIs(t, err, exchange.ErrSubjectExpired, "exp in %v", exp)
		noToken(t, err, subject)
	}
	assert.Equal(t, 0, e.exchanges(), "the authority is not asked")
	assert.Equal(t, uint64(0), e.x.Stats().Misses)

	// Within the skew of its exp, a subject that has not expired is
	// exchanged: the inbound middleware still accepts it.
	subject := e.a.IssueToken(testutil.TokenClaims{Subject: "alice", Expiry: t0.Add(time.Second)})
	_, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), exchange.Target{})
	require.NoError(t, err)
	assert.Equal(t, 1, e.exchanges())
}

func TestAuthorityFaults(t *testing.T) {
	tests := []struct {
		name      string
		fault     testutil.Fault
		temporary bool
		asError   bool // the error is an *authority.Error
	}{
		{"500", testutil.Fault{Kind: testutil.FaultStatus, Status: 500}, true, true},
		{"503 retry after", testutil.Fault{Kind: testutil.FaultStatus, Status: 503, Header: http.Header{"Retry-After": {"7"}}}, true, true},
		{"429", testutil.Fault{Kind: testutil.FaultStatus, Status: 429}, true, true},
		{"invalid_grant", testutil.Fault{Kind: testutil.FaultOAuthError, Status: 400, Body: "invalid_grant"}, false, true},
		{"server_error", testutil.Fault{Kind: testutil.FaultOAuthError}, true, true},
		{"malformed JSON", testutil.Fault{Kind: testutil.FaultMalformedJSON}, false, true},
		{"HTML", testutil.Fault{Kind: testutil.FaultHTML, Status: 502}, true, true},
		{"oversize", testutil.Fault{Kind: testutil.FaultOversize}, false, true},
		{"empty", testutil.Fault{Kind: testutil.FaultEmpty}, false, true},
		{"raw 400 text", testutil.Fault{Kind: testutil.FaultRaw, Status: 400, Body: "nope", Header: http.Header{"Content-Type": {"text/plain"}}}, false, true},
		{"dropped connection", testutil.Fault{Kind: testutil.FaultDrop}, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, exchange.Options{NegativeTTL: -1}, testutil.Options{}, nil)
			subject := e.subject("alice")
			tgt := exchange.Target{Audiences: []string{"api-a"}}
			e.a.InjectFaults(1, tc.fault)

			_, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "exchange: ")
			noToken(t, err, subject)
			var ae *authority.Error
			assert.Equal(t, tc.asError, errors.As(err, &ae), "%v", err)
			assert.Equal(t, tc.temporary, authority.IsTemporary(err), "%v", err)
			assert.Equal(t, !tc.temporary, authority.IsPermanent(err), "%v", err)

			// Nothing was cached: the next call asks again and succeeds.
			tok, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
			require.NoError(t, err)
			assert.Equal(t, "alice", claims(t, tok).Subject())
			assert.Equal(t, 1, e.a.FaultsServed())
			assert.Equal(t, uint64(2), e.x.Stats().Exchanges)
			assert.Equal(t, uint64(1), e.x.Stats().Errors)
		})
	}
}

func TestTemporaryErrorsAreNotRemembered(t *testing.T) {
	e := newEnv(t, exchange.Options{}, testutil.Options{}, nil)
	subject := e.subject("alice")
	e.a.InjectFaults(1, testutil.Fault{Kind: testutil.FaultStatus, Status: 503})
	_, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), exchange.Target{})
	require.Error(t, err)
	_, err = e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), exchange.Target{})
	require.NoError(t, err)
	assert.Equal(t, uint64(0), e.x.Stats().NegativeHits)
}

func TestFlightTimeout(t *testing.T) {
	e := newEnv(t, exchange.Options{FlightTimeout: 50 * time.Millisecond}, testutil.Options{}, nil)
	e.a.InjectFaults(1, testutil.Fault{Kind: testutil.FaultStatus, Delay: time.Hour})
	_, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(e.subject("alice")), exchange.Target{})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.True(t, authority.IsTemporary(err))
}
