package exchange

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/internal/numericdate"
)

// maxPayload bounds the JWT payload decoded for its "exp".
const maxPayload = 16 << 10

// newEntry builds the cache entry for tok, obtained at now for subject. ok
// is false when the issued token has already expired, by Token.Expiry or
// by its own JWT "exp".
//
// The issued token's end is the earlier of Token.Expiry and its JWT "exp";
// the subject token's end is its JWT "exp". Each is brought forward by
// min(Skew, life/4), life being what is left of that token at now, so that
// a short-lived token is still cached for most of its life; the entry ends
// at the earlier of the two. RefreshAt is set only when the issued token's
// end is strictly the earlier: when the subject's ends the entry (a tie
// included), a new token would end no later. The entry may end at or
// before now (the subject expired during the exchange): the caller then
// returns the token without caching it.
func (x *Exchanger) newEntry(now time.Time, tok *authority.Token, subject string) (e *Entry, ok bool) {
	issued := tok.Expiry
	if exp, ok := subjectExpiry(tok.AccessToken); ok && exp.Before(issued) {
		issued = exp
	}
	life := issued.Sub(now)
	if life <= 0 {
		return nil, false
	}
	end := issued.Add(-min(x.opts.Skew, life/4))
	issuedLimits := true
	if exp, ok := subjectExpiry(subject); ok {
		limit := exp
		if left := exp.Sub(now); left > 0 {
			limit = exp.Add(-min(x.opts.Skew, left/4))
		}
		if !end.Before(limit) {
			end, issuedLimits = limit, false
		}
	}
	e = &Entry{Token: tok, Expires: end}
	if life := end.Sub(now); life > 0 && issuedLimits && x.opts.RefreshAhead > 0 {
		frac := x.opts.RefreshAhead
		if x.opts.RefreshJitter > 0 {
			frac -= x.opts.RefreshJitter * rand.Float64()
		}
		e.RefreshAt = now.Add(time.Duration(float64(life) * max(frac, 0)))
	}
	return e, true
}

// checkSubject returns nil if subject may still be exchanged at now: it is
// not a JWT (an opaque token), or a JWT whose "exp" is absent or after now.
// A subject close to its exp is still exchanged (the inbound middleware
// accepts it until exp plus its leeway); its entry is then short, as
// newEntry computes. A JWT whose "exp" is present but not a NumericDate is
// refused with ErrSubjectInvalid, as the inbound validator refuses it:
// taking it for "no exp" would cache a token past the subject's end.
func checkSubject(now time.Time, subject string) error {
	exp, ok, err := jwtExpiry(subject)
	switch {
	case err != nil:
		return fmt.Errorf("%w: %w", ErrSubjectInvalid, err)
	case ok && !now.Before(exp):
		return ErrSubjectExpired
	}
	return nil
}

// subjectExpiry returns the "exp" of a JWT; ok is false for anything that
// is not a JWT with a valid "exp" (see jwtExpiry).
func subjectExpiry(token string) (time.Time, bool) {
	exp, ok, err := jwtExpiry(token)
	return exp, ok && err == nil
}

// jwtExpiry reads the "exp" claim of a JWT without verifying it, by the
// rule of the inbound validator (internal/numericdate): ok is false for
// anything that is not a JWT whose payload is a JSON object (an opaque
// token) or for a JWT without "exp"; err is a *numericdate.Error when
// "exp" is present but not a NumericDate. Reading it only shortens a cache
// entry's life or refuses the token, so an unverified value is safe to use.
func jwtExpiry(token string) (exp time.Time, ok bool, err error) {
	first := strings.IndexByte(token, '.')
	if first < 0 {
		return time.Time{}, false, nil
	}
	rest := token[first+1:]
	second := strings.IndexByte(rest, '.')
	if second < 0 || strings.IndexByte(rest[second+1:], '.') >= 0 {
		return time.Time{}, false, nil // not a JWS compact serialization
	}
	seg := strings.TrimRight(rest[:second], "=")
	if len(seg) == 0 || len(seg) > maxPayload {
		return time.Time{}, false, nil
	}
	payload, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return time.Time{}, false, nil
	}
	exp, ok, err = numericdate.Exp(payload)
	var nde *numericdate.Error
	if err != nil && !errors.As(err, &nde) {
		return time.Time{}, false, nil // not a JSON object: not a JWT
	}
	return exp, ok, err
}
