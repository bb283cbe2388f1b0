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

// newEntry builds the cache entry for tok, obtained at now for subject.
func (x *Exchanger) newEntry(now time.Time, tok *authority.Token, subject string) *Entry {
	end := tok.Expiry
	if exp, ok := subjectExpiry(subject); ok && exp.Before(end) {
		end = exp
	}
	e := &Entry{Token: tok, Expires: end.Add(-x.opts.Skew)}
	if life := e.Expires.Sub(now); life > 0 && x.opts.RefreshAhead > 0 {
		frac := x.opts.RefreshAhead
		if x.opts.RefreshJitter > 0 {
			frac -= x.opts.RefreshJitter * rand.Float64()
		}
		e.RefreshAt = now.Add(time.Duration(float64(life) * max(frac, 0)))
	}
	return e
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
