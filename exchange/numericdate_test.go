package exchange_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/exchange"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// TestSubjectNumericDate checks that the subject token's "exp" is read by
// the rule the inbound validator applies (RFC 7519 §2: a NumericDate is a
// JSON number): a valid one caps the entry, one present but not a number
// (a string, even of digits, ...) is refused with ErrSubjectInvalid without
// asking the authority, instead of being taken for "no exp". The cases are
// those of internal/numericdate's TestParse.
func TestSubjectNumericDate(t *testing.T) {
	exp := t0.Add(2 * time.Minute).Unix() // before the issued token's end
	tests := []struct {
		raw   string
		valid bool
	}{
		{fmt.Sprint(exp), true},
		{fmt.Sprintf("%d.5", exp), true},
		{fmt.Sprintf("%.9e", float64(exp)), true}, // exponent form
		{fmt.Sprintf("%q", fmt.Sprint(exp)), false},
		{fmt.Sprintf("%q", t0.Add(2*time.Minute).Format(time.RFC3339)), false},
		{"true", false},
		{"null", false},
		{fmt.Sprintf(`{"n":%d}`, exp), false},
		{fmt.Sprintf("[%d]", exp), false},
		{"-1", false},
		{"9007199254740992", false},
		{"1e300", false},
	}
	for _, tc := range tests {
		t.Run(tc.raw, func(t *testing.T) {
			e := newEnv(t, noRefresh, testutil.Options{TokenLifetime: 10 * time.Minute}, nil)
			subject := e.a.SignPayload(fmt.Appendf(nil,
				`{"iss":%q,"sub":"alice","aud":[%q],"iat":%d,"exp":%s}`, e.a.Issuer(), clientID, t0.Unix(), tc.raw))
			tgt := exchange.Target{Audiences: []string{"api-a"}}
			tok, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
			if !tc.valid {
				require.ErrorIs(t, err, exchange.ErrSubjectInvalid)
				assert.Nil(t, tok)
				assert.Contains(t, err.Error(), `"exp"`)
				noToken(t, err, subject)
				assert.Equal(t, 0, e.exchanges(), "refused without asking the authority")

				// Nor is it served later, whatever the clock says.
				e.clock.Advance(3 * time.Minute)
				_, err = e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
				require.ErrorIs(t, err, exchange.ErrSubjectInvalid)
				return
			}
			require.NoError(t, err)
			// The subject's exp ends the entry: past it, nothing is served.
			e.clock.Advance(2*time.Minute + time.Second)
			_, err = e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), tgt)
			require.ErrorIs(t, err, exchange.ErrSubjectExpired)
			assert.Equal(t, 1, e.exchanges())
		})
	}
}

// TestSubjectNotJWT checks that a subject token that is not a JWT (an
// opaque token) is exchanged: only a JWT has an "exp" to read.
func TestSubjectNotJWT(t *testing.T) {
	e := newEnv(t, noRefresh, testutil.Options{}, nil)
	for _, subject := range []string{"opaque-token", "a.b", "a.b.c.d", "not.base64!.sig", "e30.bm90IGpzb24.sig"} {
		_, err := e.x.Exchange(context.Background(), authority.NewSubjectToken(subject), exchange.Target{Audiences: []string{"api-a"}})
		// The authority refuses it (it is not one of its JWTs), the
		// Exchanger does not.
		require.Error(t, err, subject)
		assert.False(t, errors.Is(err, exchange.ErrSubjectInvalid), "%s: %v", subject, err)
		assert.False(t, errors.Is(err, exchange.ErrSubjectExpired), "%s: %v", subject, err)
	}
	assert.Equal(t, 5, e.exchanges())
}
