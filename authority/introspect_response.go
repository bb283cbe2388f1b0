package authority

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Introspection is an RFC 7662 §2.2 introspection response. Its fields
// describe a token and its holder: do not log them (Claims may name the
// user). Printing an Introspection, with any verb, or logging it shows
// only whether the token is active.
type Introspection struct {
	// Active is the response's "active": whether the token is currently
	// active at the authorization server. Nothing else about an inactive
	// token is to be trusted (RFC 7662 §2.2).
	Active bool
	// Claims is the response's JSON object as received, for
	// middleware.ParseClaims (which reads introspection responses).
	Claims []byte
	// TokenType is "token_type" (such as "Bearer"), when it is a string.
	TokenType string
	// ClientID is "client_id", the client the token was issued to, when
	// it is a string.
	ClientID string
	// Username is "username", the resource owner's name, when it is a
	// string.
	Username string
}

// String says whether the token is active, nothing else.
func (in *Introspection) String() string {
	if in == nil {
		return "authority.Introspection(nil)"
	}
	return fmt.Sprintf("authority.Introspection{Active:%t}", in.Active)
}

// GoString is String.
func (in *Introspection) GoString() string { return in.String() }

// Format prints String for every verb.
func (in *Introspection) Format(f fmt.State, verb rune) { formatRedacted(f, verb, in.String()) }

// LogValue logs only whether the token is active.
func (in *Introspection) LogValue() slog.Value {
	if in == nil {
		return slog.GroupValue()
	}
	return slog.GroupValue(slog.Bool("active", in.Active))
}

// parseIntrospection reads a 2xx introspection response body of media
// type mt, strictly: a JSON media type (or none), one JSON object after
// an optional UTF-8 byte-order mark, each member name at most once
// (without regard to case), and a boolean "active". The error says what
// was wrong, never quoting the body, not even a member name (a server
// could echo the token as one).
func parseIntrospection(body []byte, mt string) (*Introspection, error) {
	if mt != "" && !isJSONType(mt) {
		return nil, errors.New("not JSON")
	}
	body = bytes.TrimSpace(bytes.TrimPrefix(bytes.TrimSpace(body), utf8BOM))
	if len(body) == 0 {
		return nil, errors.New("empty body")
	}
	if body[0] != '{' {
		return nil, errors.New("body is not a JSON object")
	}
	in := &Introspection{Claims: body}
	dec := json.NewDecoder(bytes.NewReader(body))
	if _, err := dec.Token(); err != nil { // the '{'
		return nil, errors.New("body is not a JSON object")
	}
	seen := make(map[string]struct{}, 16)
	hasActive := false
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, errors.New("body is not valid JSON")
		}
		name, ok := t.(string)
		if !ok {
			return nil, errors.New("body is not valid JSON")
		}
		// Names are compared without case, as defence in depth: the
		// registered claims are read later by middleware.ParseClaims,
		// which matches names exactly (RFC 7519 §4: they are
		// case-sensitive), but an application's Claims.Decode uses
		// encoding/json, which matches them without case; refusing
		// "iss" beside "ISS" leaves no two readings of one answer. The
		// name is not quoted: it could be the token.
		folded := strings.ToLower(name)
		if _, dup := seen[folded]; dup {
			return nil, errors.New("a member name appears more than once")
		}
		seen[folded] = struct{}{}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, errors.New("body is not valid JSON")
		}
		switch name {
		case "active":
			switch string(v) {
			case "true":
				in.Active = true
			case "false":
			default:
				return nil, errors.New(`"active" is not a boolean`)
			}
			hasActive = true
		case "token_type":
			in.TokenType = stringMember(v)
		case "client_id":
			in.ClientID = stringMember(v)
		case "username":
			in.Username = stringMember(v)
		}
	}
	if _, err := dec.Token(); err != nil { // the '}'
		return nil, errors.New("body is not valid JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON object")
	}
	if !hasActive {
		return nil, errors.New(`no "active" member`)
	}
	if !in.Active {
		// Nothing else about an inactive token is to be trusted, nor kept.
		return &Introspection{Claims: []byte(`{"active":false}`)}, nil
	}
	return in, nil
}

// stringMember returns v when it is a JSON string, else "".
func stringMember(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) != nil {
		return ""
	}
	return s
}

// replyKind names what e is a reply of, for its message: "token", or
// "introspection" for [GrantIntrospection].
func (e *Error) replyKind() string {
	if e.Grant == GrantIntrospection {
		return "introspection"
	}
	return "token"
}
