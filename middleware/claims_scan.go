package middleware

import (
	"bytes"
	"encoding/json"
	"errors"
)

// registered holds the raw JSON values of the claims [ParseClaims] reads
// into fields: subslices of the payload, nil when the claim is absent.
type registered struct {
	iss, sub, aud, exp, nbf, iat, jti, scope, scp []byte
}

// slot returns where the value of the claim named key goes, or nil for a
// claim that has no field. Names match exactly, as RFC 7519 §4 has claim
// names case-sensitive.
func (r *registered) slot(key []byte) *[]byte {
	switch string(key) { // no allocation: the conversion is only compared
	case "iss":
		return &r.iss
	case "sub":
		return &r.sub
	case "aud":
		return &r.aud
	case "exp":
		return &r.exp
	case "nbf":
		return &r.nbf
	case "iat":
		return &r.iat
	case "jti":
		return &r.jti
	case "scope":
		return &r.scope
	case "scp":
		return &r.scp
	}
	return nil
}

// maxNesting bounds how deeply arrays and objects may nest in a claim
// set, as encoding/json bounds it.
const maxNesting = 10000

// errSyntax is any departure of a payload from the JSON grammar; callers
// answer it as a malformed token without saying where.
var errSyntax = errors.New("middleware: claims are not valid JSON")

// scanClaims checks in one pass that payload is a JSON object (RFC 8259,
// accepting what encoding/json accepts) and picks out the values of the
// registered claims. A member whose name appears twice counts once, with
// its lexically last value, as RFC 7519 §4 allows a parser to do. The
// values of other claims are checked but not decoded: [Claims.Decode]
// reads them when the application asks.
func scanClaims(payload []byte) (registered, error) {
	var r registered
	s := claimScanner{b: payload}
	s.space()
	if !s.consume('{') {
		return r, errSyntax
	}
	s.space()
	if !s.consume('}') {
		for {
			key, escaped, err := s.str()
			if err != nil {
				return r, err
			}
			if escaped {
				var name string
				if err := json.Unmarshal(key, &name); err != nil {
					return r, errSyntax
				}
				key = []byte(name)
			} else {
				key = key[1 : len(key)-1]
			}
			s.space()
			if !s.consume(':') {
				return r, errSyntax
			}
			s.space()
			start := s.i
			if err := s.value(1); err != nil {
				return r, err
			}
			if p := r.slot(key); p != nil {
				*p = payload[start:s.i]
			}
			s.space()
			if s.consume('}') {
				break
			}
			if !s.consume(',') {
				return r, errSyntax
			}
			s.space()
		}
	}
	s.space()
	if s.i != len(s.b) {
		return r, errSyntax
	}
	return r, nil
}

// claimScanner reads JSON from b, from offset i.
type claimScanner struct {
	b []byte
	i int
}

// space skips JSON whitespace.
func (s *claimScanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// consume skips c if it is the next byte.
func (s *claimScanner) consume(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// value skips one JSON value at nesting depth.
func (s *claimScanner) value(depth int) error {
	if s.i >= len(s.b) {
		return errSyntax
	}
	switch c := s.b[s.i]; {
	case c == '"':
		_, _, err := s.str()
		return err
	case c == '{' || c == '[':
		return s.container(depth)
	case c == '-' || ('0' <= c && c <= '9'):
		return s.number()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	}
	return errSyntax
}

// container skips an object or an array at nesting depth.
func (s *claimScanner) container(depth int) error {
	if depth > maxNesting {
		return errSyntax
	}
	object := s.b[s.i] == '{'
	end := byte(']')
	if object {
		end = '}'
	}
	s.i++
	s.space()
	if s.consume(end) {
		return nil
	}
	for {
		if object {
			if _, _, err := s.str(); err != nil {
				return err
			}
			s.space()
			if !s.consume(':') {
				return errSyntax
			}
			s.space()
		}
		if err := s.value(depth + 1); err != nil {
			return err
		}
		s.space()
		if s.consume(end) {
			return nil
		}
		if !s.consume(',') {
			return errSyntax
		}
		s.space()
	}
}

// str skips a JSON string and returns it with its quotes, and whether it
// holds an escape. Bytes of 0x80 and above pass unchecked, as
// encoding/json passes them.
func (s *claimScanner) str() (raw []byte, escaped bool, err error) {
	start := s.i
	if !s.consume('"') {
		return nil, false, errSyntax
	}
	for {
		// Jump to the next byte that needs a look.
		j := bytes.IndexAny(s.b[s.i:], "\"\\")
		if j < 0 {
			return nil, false, errSyntax
		}
		for _, c := range s.b[s.i : s.i+j] {
			if c < 0x20 {
				return nil, false, errSyntax
			}
		}
		s.i += j
		if s.b[s.i] == '"' {
			s.i++
			return s.b[start:s.i], escaped, nil
		}
		escaped = true
		s.i++ // the backslash
		if s.i >= len(s.b) {
			return nil, false, errSyntax
		}
		switch s.b[s.i] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			s.i++
		case 'u':
			if s.i+5 > len(s.b) {
				return nil, false, errSyntax
			}
			for _, c := range s.b[s.i+1 : s.i+5] {
				if !isHex(c) {
					return nil, false, errSyntax
				}
			}
			s.i += 5
		default:
			return nil, false, errSyntax
		}
	}
}

// number skips a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *claimScanner) number() error {
	s.consume('-')
	switch {
	case s.consume('0'):
	case s.i < len(s.b) && '1' <= s.b[s.i] && s.b[s.i] <= '9':
		s.digits()
	default:
		return errSyntax
	}
	if s.consume('.') {
		if s.digits() == 0 {
			return errSyntax
		}
	}
	if s.consume('e') || s.consume('E') {
		if !s.consume('+') {
			s.consume('-')
		}
		if s.digits() == 0 {
			return errSyntax
		}
	}
	return nil
}

// digits skips decimal digits and returns how many.
func (s *claimScanner) digits() int {
	start := s.i
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i - start
}

// literal skips lit (true, false or null).
func (s *claimScanner) literal(lit string) error {
	if !bytes.HasPrefix(s.b[s.i:], []byte(lit)) {
		return errSyntax
	}
	s.i += len(lit)
	return nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
