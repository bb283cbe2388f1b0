package middleware

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-tokenexchange/tokenexchange/internal/numericdate"
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

// ParseClaims reads a claim set: the JSON object of a JWT's payload or of an
// introspection response (RFC 7662 §2.2). The registered claims must have
// their RFC 7519 types: "iss", "sub" and "jti" strings; "aud" a string or an
// array of strings; "exp", "nbf" and "iat" NumericDates, which are
// non-negative JSON numbers below 2^53 (a string such as "1700000000", or
// null, is refused, not read); "scope" a space-separated string; "scp" a
// string or an array of strings. Other than a NumericDate, a claim that is
// null counts as absent.
//
// The payload is read in one pass that checks its JSON and picks out
// those claims; the others are not decoded until [Claims.Decode] asks for
// them. Claim names match exactly (RFC 7519 §4: they are case-sensitive),
// and a name given twice counts with its last value.
//
// The error is an [*Error], 401 invalid_token, wrapping [ErrInvalidClaim]
// (for a NumericDate, together with the internal rule's error) with a
// description that names the claim and the kind of value found, never the
// value; for a payload that is not a JSON object it wraps
// [ErrMalformedToken]. A [Validator] returns it as it is, and the middleware
// answers it as it is.
//
// payload is kept for [Claims.Decode]: do not modify it afterwards.
func ParseClaims(payload []byte) (*Claims, error) {
	w, err := scanClaims(payload)
	if err != nil {
		return nil, tokenError(ErrMalformedToken, "the claims are not a JSON object")
	}
	c := &Claims{raw: payload}
	if c.Issuer, err = stringClaim("iss", w.iss); err != nil {
		return nil, err
	}
	if c.Subject, err = stringClaim("sub", w.sub); err != nil {
		return nil, err
	}
	if c.ID, err = stringClaim("jti", w.jti); err != nil {
		return nil, err
	}
	if c.Audience, err = stringsClaim("aud", w.aud); err != nil {
		return nil, err
	}
	if c.Expiry, err = numericDate("exp", w.exp); err != nil {
		return nil, err
	}
	if c.NotBefore, err = numericDate("nbf", w.nbf); err != nil {
		return nil, err
	}
	if c.IssuedAt, err = numericDate("iat", w.iat); err != nil {
		return nil, err
	}
	scope, err := stringClaim("scope", w.scope)
	if err != nil {
		return nil, err
	}
	c.Scopes = strings.Fields(scope)
	scp, err := stringsClaim("scp", w.scp)
	if err != nil {
		return nil, err
	}
	for _, s := range scp {
		c.Scopes = append(c.Scopes, strings.Fields(s)...)
	}
	return c, nil
}

// numericDate reads the claim name by the one NumericDate rule of this
// module (internal/numericdate, shared with the exchanger): absent gives the
// zero time; anything but a non-negative JSON number below 2^53 (null and a
// string of digits included) is an *Error wrapping [ErrInvalidClaim] and
// the rule's own error, described by the latter.
func numericDate(name string, raw json.RawMessage) (time.Time, error) {
	if raw == nil {
		return time.Time{}, nil
	}
	t, err := numericdate.Parse(name, raw)
	if err != nil {
		return time.Time{}, tokenError(fmt.Errorf("%w: %w", ErrInvalidClaim, err), err.Error())
	}
	return t, nil
}

// claimError is the refusal of a claim of the wrong type; what names the
// type it should have had.
func claimError(name, what string) *Error {
	return tokenError(ErrInvalidClaim, fmt.Sprintf("claim %q is not %s", name, what))
}

func stringClaim(name string, raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	if s, ok := plainString(raw); ok {
		return s, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", claimError(name, "a string")
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
	if list, ok := plainStrings(raw); ok {
		return list, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, claimError(name, "a string or an array of strings")
	}
	return list, nil
}

// plainString reads raw, a JSON value from a document scanClaims has
// validated, when it is a string without escapes in valid UTF-8, which
// json.Unmarshal would read as the bytes between the quotes: a claim
// read without a second pass of encoding/json. ok is false for anything
// else, which the caller gives to json.Unmarshal.
func plainString(raw []byte) (s string, ok bool) {
	n := len(raw)
	if n < 2 || raw[0] != '"' || raw[n-1] != '"' {
		return "", false
	}
	in := raw[1 : n-1]
	if bytes.IndexByte(in, '\\') >= 0 || bytes.IndexByte(in, '"') >= 0 || !utf8.Valid(in) {
		return "", false
	}
	return string(in), true
}

// plainStrings reads raw, a JSON value from a document scanClaims has
// validated, when it is an array of strings that plainString reads; ok
// is false for anything else.
func plainStrings(raw []byte) (list []string, ok bool) {
	rest := bytes.TrimSpace(raw)
	if len(rest) < 2 || rest[0] != '[' || rest[len(rest)-1] != ']' {
		return nil, false
	}
	rest = bytes.TrimSpace(rest[1 : len(rest)-1])
	if len(rest) == 0 {
		return []string{}, true
	}
	for {
		if len(rest) == 0 || rest[0] != '"' {
			return nil, false
		}
		end := bytes.IndexByte(rest[1:], '"')
		if end < 0 {
			return nil, false
		}
		s, ok := plainString(rest[:end+2])
		if !ok {
			return nil, false
		}
		list = append(list, s)
		rest = bytes.TrimSpace(rest[end+2:])
		if len(rest) == 0 {
			return list, true
		}
		if rest[0] != ',' {
			return nil, false
		}
		rest = bytes.TrimSpace(rest[1:])
	}
}

// Decode unmarshals the whole claim set into v with encoding/json, for the
// claims the fields do not cover:
//
//	var extra struct {
//		Email string `json:"email"`
//		Roles []string `json:"roles"`
//	}
//	if err := claims.Decode(&extra); err != nil { ... }
//
// Decode follows encoding/json's rules, which differ from the fields' in
// one respect: it matches a struct field to a claim name case-insensitively
// when no name matches exactly, where the fields match only exact names
// (RFC 7519 §4). Tag the fields with the claims' exact names, and treat a
// token whose claim set holds names that differ only in case as its
// issuer's to answer for: it signed them.
//
// The error is encoding/json's (such as a *json.UnmarshalTypeError for a
// claim of another type than v's field), or, for nil Claims or Claims not
// made by [ParseClaims], an error saying there are no claims to decode.
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
