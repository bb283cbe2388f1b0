package middleware

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Claims are the claims of a validated token: the registered claims of
// RFC 7519 §4.1 as fields, the granted scopes, and the whole claim set for
// [Claims.Decode] to read the rest into a struct of the application's own,
// as go-oidc's IDToken.Claims does. A [Validator] returns them; the
// middleware stores them in the request's context ([ClaimsFromContext]).
//
// Claims are shared by every reader of the request's context: treat them as
// read-only.
type Claims struct {
	// Issuer is "iss".
	Issuer string
	// Subject is "sub".
	Subject string
	// Audience is "aud", a string or an array of strings in the token.
	Audience []string
	// Expiry is "exp"; zero when absent.
	Expiry time.Time
	// NotBefore is "nbf"; zero when absent.
	NotBefore time.Time
	// IssuedAt is "iat"; zero when absent.
	IssuedAt time.Time
	// ID is "jti".
	ID string
	// Scopes are the scopes granted: the space-separated "scope" claim
	// (RFC 8693 §4.2, RFC 9068 §2.2.3) followed by the "scp" claim (an array
	// of strings, or a string, as some servers issue it).
	Scopes []string

	raw []byte // the JSON object the fields were read from
}

// ErrInvalidClaims is wrapped by the error of [ParseClaims] for a claim set
// that is not a JSON object or whose registered claims have the wrong type.
var ErrInvalidClaims = errors.New("middleware: invalid claims")

// maxNumericDate is the largest NumericDate accepted: the last second of the
// year 9999. A larger value cannot be a real expiry and would overflow time
// arithmetic.
const maxNumericDate = 253402300799

// ParseClaims reads a claim set: the JSON object of a JWT's payload or of an
// introspection response (RFC 7662 §2.2). The registered claims must have
// their RFC 7519 types: "iss", "sub" and "jti" strings; "aud" a string or an
// array of strings; "exp", "nbf" and "iat" NumericDates, which are JSON
// numbers (a string such as "1700000000" is refused, not read); "scope" a
// space-separated string; "scp" a string or an array of strings. A claim
// that is null counts as absent. The error wraps [ErrInvalidClaims] and
// names the claim, never its value.
//
// A validator implemented outside this package returns what ParseClaims
// gives it. payload is kept: do not modify it afterwards.
func ParseClaims(payload []byte) (*Claims, error) {
	if p := bytes.TrimLeft(payload, " \t\r\n"); len(p) == 0 || p[0] != '{' {
		return nil, fmt.Errorf("%w: not a JSON object", ErrInvalidClaims)
	}
	var w struct {
		Iss   json.RawMessage `json:"iss"`
		Sub   json.RawMessage `json:"sub"`
		Aud   json.RawMessage `json:"aud"`
		Exp   json.RawMessage `json:"exp"`
		Nbf   json.RawMessage `json:"nbf"`
		Iat   json.RawMessage `json:"iat"`
		Jti   json.RawMessage `json:"jti"`
		Scope json.RawMessage `json:"scope"`
		Scp   json.RawMessage `json:"scp"`
	}
	if err := json.Unmarshal(payload, &w); err != nil {
		return nil, fmt.Errorf("%w: not a JSON object", ErrInvalidClaims)
	}
	c := &Claims{raw: payload}
	var err error
	if c.Issuer, err = stringClaim("iss", w.Iss); err != nil {
		return nil, err
	}
	if c.Subject, err = stringClaim("sub", w.Sub); err != nil {
		return nil, err
	}
	if c.ID, err = stringClaim("jti", w.Jti); err != nil {
		return nil, err
	}
	if c.Audience, err = stringsClaim("aud", w.Aud); err != nil {
		return nil, err
	}
	if c.Expiry, err = numericDate("exp", w.Exp); err != nil {
		return nil, err
	}
	if c.NotBefore, err = numericDate("nbf", w.Nbf); err != nil {
		return nil, err
	}
	if c.IssuedAt, err = numericDate("iat", w.Iat); err != nil {
		return nil, err
	}
	scope, err := stringClaim("scope", w.Scope)
	if err != nil {
		return nil, err
	}
	c.Scopes = strings.Fields(scope)
	scp, err := stringsClaim("scp", w.Scp)
	if err != nil {
		return nil, err
	}
	for _, s := range scp {
		c.Scopes = append(c.Scopes, strings.Fields(s)...)
	}
	return c, nil
}

// numericDate reads the JSON value raw of the claim name as an RFC 7519 §2
// NumericDate: a JSON number of seconds since the epoch, possibly with a
// fraction, from 0 to the end of the year 9999. An absent (empty) or null
// value gives the zero time; anything else that is not such a number (a
// string, a boolean, an object, a negative or out-of-range number) is an
// error wrapping [ErrInvalidClaims].
func numericDate(name string, raw json.RawMessage) (time.Time, error) {
	s := bytes.TrimSpace(raw)
	if len(s) == 0 || string(s) == "null" {
		return time.Time{}, nil
	}
	if s[0] != '-' && (s[0] < '0' || s[0] > '9') {
		return time.Time{}, fmt.Errorf("%w: %q is not a NumericDate", ErrInvalidClaims, name)
	}
	var f float64
	if err := json.Unmarshal(s, &f); err != nil || math.IsNaN(f) || f < 0 || f > maxNumericDate {
		return time.Time{}, fmt.Errorf("%w: %q is not a NumericDate", ErrInvalidClaims, name)
	}
	secs, frac := math.Modf(f)
	return time.Unix(int64(secs), int64(frac*1e9)), nil
}

func stringClaim(name string, raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("%w: %q is not a string", ErrInvalidClaims, name)
	}
	return s, nil
}

// stringsClaim reads a claim that is a string or an array of strings.
func stringsClaim(name string, raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] == '"' {
		s, err := stringClaim(name, raw)
		if err != nil {
			return nil, err
		}
		return []string{s}, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("%w: %q is not a string or an array of strings", ErrInvalidClaims, name)
	}
	return list, nil
}

// Decode unmarshals the whole claim set into v with encoding/json, for the
// claims the fields do not cover:
//
//	var extra struct {
//		Email string `json:"email"`
//		Roles []string `json:"roles"`
//	}
//	if err := claims.Decode(&extra); err != nil { ... }
func (c *Claims) Decode(v any) error {
	if c == nil || c.raw == nil {
		return errors.New("middleware: no claims to decode")
	}
	return json.Unmarshal(c.raw, v)
}

// HasScopes reports whether every one of required is among [Claims.Scopes].
func (c *Claims) HasScopes(required ...string) bool {
	for _, want := range required {
		if c == nil || !slices.Contains(c.Scopes, want) {
			return false
		}
	}
	return true
}
