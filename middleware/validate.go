package middleware

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/go-tokenexchange/tokenexchange/internal/numericdate"
)

// joseHeader holds the protected header fields Validate looks at.
type joseHeader struct {
	Alg  string          `json:"alg"`
	Kid  string          `json:"kid"`
	Crit json.RawMessage `json:"crit"`
}

// typedHeader adds "typ", decoded only when ValidatorConfig.Types is set so
// that an unchecked "typ" costs no allocation.
type typedHeader struct {
	joseHeader
	Typ string `json:"typ"`
}

// Validate verifies token as a compact-serialized JWS (RFC 7515) signed with an
// allowed algorithm by a key of the key set, and validates its claims: "iss"
// equals the issuer, "aud" contains a configured audience, "exp" is present and
// not past, "nbf" and "iat" are not in the future (all with leeway). When
// configured, the header "typ" must be one of [ValidatorConfig.Types] (checked
// once the signature verifies) and [ValidatorConfig.CheckClaims], called last,
// must accept the claims. It returns the parsed
// claims, or an [*Error] (401 invalid_token) wrapping ErrMalformedToken,
// ErrUnsupportedAlgorithm, ErrUnknownKey, ErrKeysUnavailable,
// ErrInvalidSignature, ErrInvalidType, ErrMissingClaim, ErrExpired,
// ErrNotYetValid, ErrInvalidIssuer, ErrInvalidAudience, ErrInvalidClaim or
// ErrRejected (or the *Error CheckClaims returned).
//
// "exp", "nbf" and "iat" must be NumericDates, JSON numbers (RFC 7519 §2):
// one given as a string, even of digits, is refused with ErrInvalidClaim.
// So is a negative one, or one of 2^53 or more.
//
// Keys come only from the configured key set: header parameters that name or
// carry a key ("jwk", "jku", "x5u", "x5c") are ignored, never fetched or used.
// When the set holds several keys with the token's "kid" (as during a
// rotation), each key usable with the token's "alg" is tried.
//
// An unknown "kid" may make Validate wait for a key set refetch; it returns
// when ctx ends.
func (v *Validator) Validate(ctx context.Context, token string) (jwt.Token, error) {
	h64, rest, ok1 := strings.Cut(token, ".")
	p64, s64, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.Contains(s64, ".") {
		return nil, tokenError(ErrMalformedToken, "token is not a signed JWT")
	}
	hdrJSON, err := base64.RawURLEncoding.DecodeString(h64)
	if err != nil {
		return nil, tokenError(ErrMalformedToken, "malformed token header")
	}
	var th typedHeader
	var dst any = &th.joseHeader
	if v.types != nil {
		dst = &th
	}
	if err := json.Unmarshal(hdrJSON, dst); err != nil {
		return nil, tokenError(ErrMalformedToken, "malformed token header")
	}
	hdr := &th.joseHeader
	if hdr.Crit != nil {
		// RFC 7515 §4.1.11: no extension is understood here, so none may be critical.
		return nil, tokenError(ErrMalformedToken, "unsupported critical header")
	}
	alg := jwa.SignatureAlgorithm(hdr.Alg)
	verifier, ok := v.algs[alg]
	if !ok {
		return nil, tokenError(ErrUnsupportedAlgorithm, "signing algorithm not allowed")
	}
	keys, kerr := v.keys.key(ctx, hdr.Kid, alg)
	if kerr != nil {
		return nil, kerr
	}
	sig, err := base64.RawURLEncoding.DecodeString(s64)
	if err != nil {
		return nil, tokenError(ErrMalformedToken, "malformed token signature")
	}
	input := []byte(token[:len(h64)+1+len(p64)])
	verified := false
	for _, k := range keys {
		if k.usableWith(alg) && verifier.Verify(input, sig, k.raw) == nil {
			verified = true
			break
		}
	}
	if !verified {
		return nil, tokenError(ErrInvalidSignature, "invalid token signature")
	}
	if v.types != nil && !slices.Contains(v.types, normalizeType(th.Typ)) {
		return nil, tokenError(ErrInvalidType, "token type not accepted")
	}
	payload, err := base64.RawURLEncoding.DecodeString(p64)
	if err != nil {
		return nil, tokenError(ErrMalformedToken, "malformed token payload")
	}
	if p := bytes.TrimLeft(payload, " \t\r\n"); len(p) == 0 || p[0] != '{' {
		return nil, tokenError(ErrMalformedToken, "token payload is not a JSON object")
	}
	// jwx would read an "exp" given as a string of digits, or as an RFC 3339
	// date, as a time; RFC 7519 §2 says a NumericDate is a JSON number, and
	// the exchanger reads the subject's "exp" by the same rule.
	if err := numericdate.Check(payload); err != nil {
		var nde *numericdate.Error
		if errors.As(err, &nde) {
			return nil, tokenError(ErrInvalidClaim, nde.Error())
		}
		return nil, tokenError(ErrMalformedToken, "malformed token claims")
	}
	claims, err := jwt.Parse(payload, jwt.WithVerify(false), jwt.WithValidate(false))
	if err != nil {
		return nil, tokenError(ErrMalformedToken, "malformed token claims")
	}
	if err := v.checkClaims(claims); err != nil {
		return nil, err
	}
	if v.check != nil {
		if err := v.check(claims); err != nil {
			var e *Error
			if errors.As(err, &e) {
				return nil, e
			}
			return nil, tokenError(fmt.Errorf("%w: %w", ErrRejected, err), "token rejected by policy")
		}
	}
	return claims, nil
}

// checkClaims validates iss, aud, exp, nbf and iat (RFC 7519 §4.1, RFC 9068 §4).
func (v *Validator) checkClaims(t jwt.Token) *Error {
	if t.Issuer() == "" {
		return tokenError(ErrMissingClaim, "token has no issuer")
	}
	if t.Issuer() != v.issuer {
		return tokenError(ErrInvalidIssuer, "issuer mismatch")
	}
	if !slices.ContainsFunc(t.Audience(), func(a string) bool { return slices.Contains(v.audiences, a) }) {
		if len(t.Audience()) == 0 {
			return tokenError(ErrMissingClaim, "token has no audience")
		}
		return tokenError(ErrInvalidAudience, "audience mismatch")
	}
	now := v.now()
	exp := t.Expiration()
	if exp.IsZero() {
		return tokenError(ErrMissingClaim, "token has no expiry")
	}
	if !now.Before(exp.Add(v.leeway)) {
		return tokenError(ErrExpired, "token expired")
	}
	if nbf := t.NotBefore(); !nbf.IsZero() && now.Add(v.leeway).Before(nbf) {
		return tokenError(ErrNotYetValid, "token not yet valid")
	}
	if iat := t.IssuedAt(); !iat.IsZero() && now.Add(v.leeway).Before(iat) {
		return tokenError(ErrNotYetValid, "token issued in the future")
	}
	return nil
}
