package exchange

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/go-tokenexchange/tokenexchange/authority"
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

// subjectUsable reports whether subject may still be exchanged at now: it
// is not a JWT whose "exp" is at or before now. A subject close to its exp
// is still exchanged (the inbound middleware accepts it until exp plus
// its leeway); its entry is then short, as newEntry computes.
func subjectUsable(now time.Time, subject string) bool {
	exp, ok := subjectExpiry(subject)
	return !ok || now.Before(exp)
}

// subjectExpiry reads the "exp" claim of a JWT without verifying it; ok is
// false for anything that is not a JWT with a numeric exp. Reading it only
// shortens a cache entry's life, so an unverified value is safe to use.
func subjectExpiry(token string) (time.Time, bool) {
	first := strings.IndexByte(token, '.')
	if first < 0 {
		return time.Time{}, false
	}
	rest := token[first+1:]
	second := strings.IndexByte(rest, '.')
	if second < 0 || strings.IndexByte(rest[second+1:], '.') >= 0 {
		return time.Time{}, false // not a JWS compact serialization
	}
	seg := strings.TrimRight(rest[:second], "=")
	if len(seg) == 0 || len(seg) > maxPayload {
		return time.Time{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return time.Time{}, false
	}
	var claims struct {
		Exp *float64 `json:"exp"` // a NumericDate (RFC 7519 §2)
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Exp == nil {
		return time.Time{}, false
	}
	f := *claims.Exp
	if math.IsNaN(f) || f <= 0 || f > 1<<40 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true
}
