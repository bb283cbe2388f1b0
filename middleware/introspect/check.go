package introspect

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"

	"github.com/go-tokenexchange/tokenexchange/internal/claimcheck"
	"github.com/go-tokenexchange/tokenexchange/middleware"
)

// checkClaims checks an active answer's claims at now: iss, aud, exp
// (when present), nbf and iat.
func (v *Validator) checkClaims(c *middleware.Claims, now time.Time) *middleware.Error {
	if e := claimcheck.IssuerAudience(c, v.issuer, v.audiences); e != nil {
		return e
	}
	return claimcheck.Times(c, now, v.leeway)
}

// accessTokenType reports whether s, a "token_type", names a bearer
// token (RFC 6749 §7.1 type names, compared without case).
func accessTokenType(s string) bool { return strings.EqualFold(s, "Bearer") }

// accessTyp reports whether s, a "typ" claim, marks an access token:
// Keycloak's "Bearer", or RFC 9068 §2.1's media type "at+jwt", with or
// without its "application/" prefix, compared without case.
func accessTyp(s string) bool {
	return strings.EqualFold(s, "Bearer") || strings.EqualFold(s, "at+jwt") || strings.EqualFold(s, "application/at+jwt")
}

// checkTokenType refuses an active answer that describes another kind of
// token than an access token: a server may ignore token_type_hint and
// answer active for a refresh token or an ID token (Keycloak does, with
// "typ" "Refresh" or "ID"), which, without an audience check, would
// otherwise pass as an access token. Refused: a "token_type" that is
// present (not null) and not "Bearer", or a "typ" claim present and not
// "Bearer", "at+jwt" nor "application/at+jwt", each compared without
// case; a value that is not a string is refused too. Member names match
// exactly (RFC 7519 §4), as middleware.ParseClaims matches them. The
// error never holds the values.
func checkTokenType(answer []byte) *middleware.Error {
	tokenType, typ, ok := typeMembers(answer)
	switch {
	case !ok:
		return tokenError(middleware.ErrMalformedToken, "malformed introspection claims")
	case !absentOr(tokenType, accessTokenType), !absentOr(typ, accessTyp):
		return tokenError(middleware.ErrInvalidType, "token is not an access token")
	}
	return nil
}

// typeMembers returns the members "token_type" and "typ" of the JSON
// object answer (nil when absent); ok is false if answer is not a JSON
// object.
func typeMembers(answer []byte) (tokenType, typ json.RawMessage, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(answer))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, nil, false
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, nil, false
		}
		name, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, nil, false
		}
		switch name {
		case "token_type":
			tokenType = v
		case "typ":
			typ = v
		}
	}
	return tokenType, typ, true
}

// absentOr reports whether v is absent (nil or null) or a JSON string
// that accepted accepts.
func absentOr(v json.RawMessage, accepted func(string) bool) bool {
	if v == nil || string(v) == "null" {
		return true
	}
	var s string
	return json.Unmarshal(v, &s) == nil && accepted(s)
}
