package middleware

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/go-tokenexchange/tokenexchange/authority"
)

// ErrTokenShape: the token is of a kind (JWT or not) for which
// [ByShape] was given no Validator (401 invalid_token).
var ErrTokenShape = errors.New("middleware: token of a kind not accepted")

// ByShape returns a [Validator] that hands a JWT-shaped token to jwt and
// any other token to opaque: an authorization server's signed access
// tokens to a local validator (package middleware/jwt), its opaque
// (reference) tokens to RFC 7662 introspection. A nil side refuses tokens
// of its shape with 401 invalid_token, wrapping [ErrTokenShape]. ByShape
// panics, with a message starting "middleware:", when both are nil.
//
// The test is cheap and allocates nothing (see [LooksLikeJWT]): it is no
// security decision, since each side validates fully what it gets. A token
// sent to the wrong side is refused there (a JWT introspected as opaque is
// judged by the authorization server; an opaque token that merely looks
// like a JWT fails its signature check).
//
// The returned Validator is safe for concurrent use if jwt and opaque are.
func ByShape(jwt, opaque Validator) Validator {
	if jwt == nil && opaque == nil {
		panic("middleware: ByShape needs at least one Validator")
	}
	return &byShape{jwt: jwt, opaque: opaque}
}

type byShape struct {
	jwt, opaque Validator
}

// Validate implements [Validator].
func (s *byShape) Validate(ctx context.Context, token authority.SubjectToken) (*Claims, error) {
	v, kind := s.opaque, "an opaque token"
	if LooksLikeJWT(token.Value()) {
		v, kind = s.jwt, "a JWT"
	}
	if v == nil {
		return nil, &Error{
			Code:        CodeInvalidToken,
			Description: kind + " is not accepted here",
			Status:      http.StatusUnauthorized,
			Err:         ErrTokenShape,
		}
	}
	return v.Validate(ctx, token)
}

// LooksLikeJWT reports whether token has the shape of a JWS in compact
// serialization (RFC 7515 §7.1), the form of JWT access tokens: exactly
// two dots, a non-empty header and payload, and a header of the base64url
// alphabet (A-Z a-z 0-9 - _, no padding) that begins with "eyJ", the
// base64url of `{"`, as every JOSE library writes it. The payload and the
// signature are not inspected beyond their dots: the dots are counted with
// the vectorized [strings.Count], and the bytes are left to the validator
// that decodes them, so the test costs little more for a 4 KiB token than
// for a small one. It allocates nothing. A compact JWE (five segments) does
// not look like a JWT here.
func LooksLikeJWT(token string) bool {
	if !strings.HasPrefix(token, "eyJ") || strings.Count(token, ".") != 2 {
		return false
	}
	header, rest, _ := strings.Cut(token, ".")
	if rest[0] == '.' { // an empty payload
		return false
	}
	for i := 3; i < len(header); i++ {
		switch c := header[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}
