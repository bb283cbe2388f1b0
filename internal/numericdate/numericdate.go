// Package numericdate reads the NumericDate claims of a JWT ("exp", "nbf"
// and "iat", RFC 7519 §4.1.4-6) by one rule, so that the inbound validator
// (package middleware) and the exchanger (package exchange) agree on what a
// token's expiry is.
//
// RFC 7519 §2 defines a NumericDate as a JSON numeric value: seconds since
// the epoch, possibly fractional. A claim given as a string (even of
// digits, or an RFC 3339 date), a boolean, null, an object or an array is
// refused, and so is a negative number or one of 2^53 or more, where
// float64 seconds stop being exact. Some JWT libraries coerce a string;
// this package never does.
package numericdate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// Max bounds a NumericDate: 2^53 seconds, beyond which a float64 no longer
// holds every whole second.
const Max = 1 << 53

// Claims are the NumericDate claims of a JWT claims set, undecoded. A nil
// field is an absent claim.
type Claims struct {
	Exp json.RawMessage `json:"exp"`
	Nbf json.RawMessage `json:"nbf"`
	Iat json.RawMessage `json:"iat"`
}

// Error reports a NumericDate claim that breaks the rule. It names the
// claim and the kind of value found, never the value or the token.
type Error struct {
	Claim  string // "exp", "nbf" or "iat"
	Reason string // such as "a string", "negative"
}

func (e *Error) Error() string {
	return fmt.Sprintf("claim %q is not a NumericDate (RFC 7519 §2): %s", e.Claim, e.Reason)
}

// Check decodes the claims set payload (a JSON object) and checks that
// each of "exp", "nbf" and "iat" that is present is a NumericDate. It
// returns an *Error for the first that is not, or the JSON decoding error.
func Check(payload []byte) error {
	var c Claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		raw  json.RawMessage
	}{{"exp", c.Exp}, {"nbf", c.Nbf}, {"iat", c.Iat}} {
		if f.raw == nil {
			continue
		}
		if _, err := Parse(f.name, f.raw); err != nil {
			return err
		}
	}
	return nil
}

// Exp decodes the claims set payload and returns its "exp": present is
// false when the claim is absent; err is an *Error when it is present but
// not a NumericDate, or the JSON decoding error.
func Exp(payload []byte) (exp time.Time, present bool, err error) {
	var c struct {
		Exp json.RawMessage `json:"exp"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return time.Time{}, false, err
	}
	if c.Exp == nil {
		return time.Time{}, false, nil
	}
	exp, err = Parse("exp", c.Exp)
	return exp, true, err
}

// Parse returns the time raw, the JSON value of the claim named claim,
// stands for, or an *Error if it is not a NumericDate.
func Parse(claim string, raw json.RawMessage) (time.Time, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return time.Time{}, &Error{claim, "empty"}
	}
	switch c := raw[0]; {
	case c == '"':
		return time.Time{}, &Error{claim, "a string"}
	case c == 't' || c == 'f':
		return time.Time{}, &Error{claim, "a boolean"}
	case c == 'n':
		return time.Time{}, &Error{claim, "null"}
	case c == '{':
		return time.Time{}, &Error{claim, "an object"}
	case c == '[':
		return time.Time{}, &Error{claim, "an array"}
	case c == '-':
		return time.Time{}, &Error{claim, "negative"}
	case c < '0' || c > '9':
		return time.Time{}, &Error{claim, "not a JSON value"}
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil {
		return time.Time{}, &Error{claim, "not a finite number"}
	}
	if f >= Max {
		return time.Time{}, &Error{claim, "too large"}
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), nil
}
