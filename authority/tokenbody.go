package authority

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// formType is the media type of a form-encoded token response, which some
// servers send instead of JSON (golang.org/x/oauth2 accepts it too).
const formType = "application/x-www-form-urlencoded"

// utf8BOM is the UTF-8 byte-order mark some servers put before JSON.
var utf8BOM = []byte("\ufeff")

// refused says why a 2xx body is not a usable token response. It never
// quotes the body.
func refused(msg string) error { return errors.New(msg) }

// parseTokenBody reads a successful token response body of media type mt:
// form-encoded when mt says so, otherwise a JSON object, after an optional
// UTF-8 byte-order mark. Anything else is refused.
func parseTokenBody(body []byte, mt string, sentAt time.Time, defaultLifetime time.Duration) (*Token, error) {
	body = bytes.TrimSpace(bytes.TrimPrefix(bytes.TrimSpace(body), utf8BOM))
	if len(body) == 0 {
		return nil, refused("empty body")
	}
	var (
		raw tokenJSON
		err error
	)
	if mt == formType {
		raw, err = parseTokenForm(body)
	} else {
		raw, err = parseTokenJSONFields(body)
	}
	if err != nil {
		return nil, err
	}
	return raw.token(sentAt, defaultLifetime)
}

// parseTokenJSONFields reads a JSON token response.
func parseTokenJSONFields(body []byte) (tokenJSON, error) {
	var raw tokenJSON
	if body[0] != '{' {
		return raw, refused("body is not a JSON object")
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		// The decoder's message can quote the offending value; do not
		// repeat it, it may be a token.
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return raw, refused(fmt.Sprintf("field %q has the wrong JSON type", sanitize(te.Field, maxCode, nil)))
		}
		return raw, refused("body is not valid JSON")
	}
	return raw, nil
}

// parseTokenForm reads a form-encoded token response.
func parseTokenForm(body []byte) (tokenJSON, error) {
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return tokenJSON{}, refused("form-encoded body does not parse")
	}
	raw := tokenJSON{
		AccessToken:     v.Get("access_token"),
		TokenType:       v.Get("token_type"),
		IssuedTokenType: v.Get("issued_token_type"),
		RefreshToken:    v.Get("refresh_token"),
		Scope:           v.Get("scope"),
	}
	if v.Has("expires_in") {
		raw.ExpiresIn, _ = json.Marshal(v.Get("expires_in"))
	}
	return raw, nil
}

// token checks the fields of a token response and makes the Token.
func (raw tokenJSON) token(sentAt time.Time, defaultLifetime time.Duration) (*Token, error) {
	if raw.AccessToken == "" {
		return nil, refused("no access_token")
	}
	lifetime, given, err := parseExpiresIn(raw.ExpiresIn)
	if err != nil {
		return nil, err
	}
	// Absent is "unknown": the default lifetime. Under a second is a
	// token with no life left: see Token.ZeroLifetime.
	zero := given && lifetime < time.Second
	switch {
	case !given:
		lifetime = defaultLifetime
	case zero:
		lifetime = 0
	}
	tokenType := raw.TokenType
	if tokenType == "" {
		tokenType = "Bearer"
	}
	return &Token{
		AccessToken:     raw.AccessToken,
		TokenType:       tokenType,
		IssuedTokenType: raw.IssuedTokenType,
		RefreshToken:    raw.RefreshToken,
		Expiry:          sentAt.Add(lifetime),
		Scope:           raw.Scope,
		zeroLifetime:    zero,
	}, nil
}

// parseExpiresIn reads expires_in as a JSON number or a numeric string.
// given is false when it is absent or null ("unknown"); negative or
// non-numeric is an error; values above maxLifetime are capped.
func parseExpiresIn(raw json.RawMessage) (lifetime time.Duration, given bool, err error) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return 0, false, nil
	}
	if s[0] == '"' {
		var str string
		if err := json.Unmarshal(raw, &str); err != nil {
			return 0, false, refused("expires_in is not a number")
		}
		s = strings.TrimSpace(str)
	}
	secs, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(secs) || math.IsInf(secs, 0) || strings.ContainsAny(s, "nNiIxXpP_") {
		return 0, false, refused("expires_in is not a number")
	}
	if secs < 0 {
		return 0, false, refused("expires_in is negative")
	}
	if secs >= maxLifetime.Seconds() {
		return maxLifetime, true, nil
	}
	return time.Duration(secs * float64(time.Second)), true, nil
}
