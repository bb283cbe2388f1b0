package authority

import (
	"bytes"
	"encoding/json"
	"math"
	"regexp"
	"strings"
)

// Limits on the Microsoft Entra ID members of an error response.
const (
	// maxClaims bounds a claims challenge, re-encoded; Entra ID's are a
	// few hundred bytes.
	maxClaims = 2 << 10
	// maxErrorCodes bounds Error.ErrorCodes.
	maxErrorCodes = 8
	// maxClaimsDepth bounds the nesting of a claims challenge.
	maxClaimsDepth = 8
)

// jwtShape matches the start of a JWS or JWE in compact form: a base64url
// JSON header ("{\"" encodes as eyJ) followed by a dot.
var jwtShape = regexp.MustCompile(`eyJ[A-Za-z0-9_-]*\.`)

// readEntra reads the members Microsoft Entra ID adds to an error
// response: claims (kept only when it passes claimsChallenge),
// error_codes, trace_id and correlation_id (sanitized like the
// description).
func (e *Error) readEntra(ej errorJSON, forms []string) {
	if s, ok := ej.Claims.(string); ok {
		e.Claims = claimsChallenge(s, forms)
	}
	if codes, ok := ej.ErrorCodes.([]any); ok {
		for _, c := range codes {
			f, ok := c.(float64)
			if !ok || f != math.Trunc(f) || f < 0 || f > math.MaxInt32 {
				continue
			}
			e.ErrorCodes = append(e.ErrorCodes, int(f))
			if len(e.ErrorCodes) == maxErrorCodes {
				break
			}
		}
	}
	if s, ok := ej.TraceID.(string); ok {
		e.TraceID = sanitize(s, maxCode, forms)
	}
	if s, ok := ej.CorrelationID.(string); ok {
		e.CorrelationID = sanitize(s, maxCode, forms)
	}
}

// claimsChallenge returns raw, a claims challenge from the network,
// re-encoded compactly when it is safe to pass to a caller: a JSON object
// no larger than maxClaims once re-encoded, nested at most
// maxClaimsDepth deep, in which no credential of the request appears (in
// any form in forms), no string has the shape of a JWT, and no member
// named like a credential (access_token, assertion, ...) has a string
// value; "" otherwise. Re-encoding removes every escape a credential
// could hide behind, so the check sees what the caller will get.
func claimsChallenge(raw string, forms []string) string {
	if len(raw) == 0 || len(raw) > 4*maxClaims {
		return ""
	}
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil || dec.More() || v == nil {
		return ""
	}
	if !claimsSafe(v, 0) {
		return ""
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return ""
	}
	out := strings.TrimSuffix(buf.String(), "\n")
	if len(out) > maxClaims || jwtShape.MatchString(out) {
		return ""
	}
	for _, f := range forms {
		if len(f) >= minSecret && strings.Contains(out, f) {
			return ""
		}
	}
	return out
}

// claimsSafe reports whether v, at nesting depth, is no deeper than
// maxClaimsDepth and has no credential-named member with a string value.
func claimsSafe(v any, depth int) bool {
	if depth > maxClaimsDepth {
		return false
	}
	switch v := v.(type) {
	case map[string]any:
		for k, m := range v {
			if _, isString := m.(string); isString && credentialName(k) {
				return false
			}
			if !claimsSafe(m, depth+1) {
				return false
			}
		}
	case []any:
		for _, m := range v {
			if !claimsSafe(m, depth+1) {
				return false
			}
		}
	}
	return true
}

// credentialName reports whether name is one of credentialFields.
func credentialName(name string) bool {
	for _, f := range strings.Split(credentialFields, "|") {
		if strings.EqualFold(name, f) {
			return true
		}
	}
	return false
}

// challengeURI returns the authorization endpoint when it is an http(s)
// URL that can stand in a quoted WWW-Authenticate parameter as it is
// (printable ASCII, no quote or backslash); "" otherwise.
func challengeURI(raw string) string {
	if raw == "" || len(raw) > maxDescription || checkEndpointURL(raw) != nil {
		return ""
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c <= ' ' || c >= 0x7f || c == '"' || c == '\\' {
			return ""
		}
	}
	return raw
}
