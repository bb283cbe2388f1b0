package jwt

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/internal/claimcheck"
	"github.com/go-tokenexchange/tokenexchange/middleware"
)

// joseHeader holds the protected header fields Validate looks at.
type joseHeader struct {
	Alg  string          `json:"alg"`
	Kid  string          `json:"kid"`
	Crit json.RawMessage `json:"crit"`
}

// typedHeader adds "typ", decoded only when Config.Types is set so that an
// unchecked "typ" costs no allocation.
type typedHeader struct {
	joseHeader
	Typ string `json:"typ"`
}

// Validate verifies token as a compact-serialized JWS (RFC 7515) signed with an
// allowed algorithm by a key of the key set, and validates its claims: "iss"
// equals the issuer, "aud" contains a configured audience, "exp" is present and
// not past, "nbf" and "iat" are not in the future (all with leeway). When
// configured, the header "typ" must be one of [Config.Types] (checked once
// the signature verifies) and [Config.CheckClaims], called last, must accept
// the claims. The claims are read once, by [middleware.ParseClaims], with
// RFC 7519's types enforced.
//
// It returns the claims, or a [*middleware.Error] wrapping one of the
// middleware sentinels:
//
//   - 401 invalid_token: ErrMalformedToken (not a compact JWS, or its
//     payload not a JSON object), ErrUnsupportedAlgorithm, ErrUnknownKey,
//     ErrInvalidSignature, ErrInvalidType, ErrMissingClaim, ErrInvalidClaim,
//     ErrExpired, ErrNotYetValid, ErrInvalidIssuer, ErrInvalidAudience,
//     ErrRejected (or the *Error CheckClaims returned);
//   - 503 temporarily_unavailable: ErrKeysUnavailable (which wraps
//     ErrUnavailable), when the token's "kid" is unknown and the key set
//     refetch failed, with RetryAfter set to when the next refetch may
//     start, or when ctx ended while waiting for that refetch.
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
//
// A token that passed every check is remembered, by token.Digest(), in the
// Validator's verified-token cache: seen again, it is answered with the
// same claims after only "exp", "nbf" and "iat" against the clock, the
// verifying key's presence in the key set and CheckClaims are checked
// again (see "Verified-token cache" in the package documentation). The
// answers are those of full validation, with or without the cache.
func (v *Validator) Validate(ctx context.Context, token authority.SubjectToken) (*middleware.Claims, error) {
	if v.verified == nil {
		claims, _, _, err := v.validate(ctx, token.Value())
		if err != nil {
			return nil, err // never a typed nil
		}
		return claims, nil
	}
	digest := token.Digest()
	if e := v.verified.get(digest); e != nil && e.fresh(v.now(), v.keys.current(ctx)) {
		v.verified.hits.Add(1)
		if err := claimcheck.Policy(ctx, v.check, e.claims); err != nil {
			return nil, err
		}
		return e.claims, nil
	}
	v.verified.misses.Add(1)
	claims, id, payload, err := v.validate(ctx, token.Value())
	if err != nil {
		return nil, err
	}
	v.verified.put(digest, claims, id, payload, v.now(), v.leeway)
	return claims, nil
}

// validate is Validate without the verified-token cache. With the claims
// it returns the id of the key that verified the signature and the length
// of the claims' JSON.
func (v *Validator) validate(ctx context.Context, token string) (*middleware.Claims, keyID, int, *middleware.Error) {
	claims, id, n, err := v.verify(ctx, token)
	if err != nil {
		return nil, keyID{}, 0, err
	}
	if err := claimcheck.Policy(ctx, v.check, claims); err != nil {
		return nil, keyID{}, 0, err
	}
	return claims, id, n, nil
}

// verify checks token's signature, "typ" and registered claims; see validate.
func (v *Validator) verify(ctx context.Context, token string) (*middleware.Claims, keyID, int, *middleware.Error) {
	h64, rest, ok1 := strings.Cut(token, ".")
	p64, s64, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.Contains(s64, ".") {
		return nil, keyID{}, 0, tokenError(middleware.ErrMalformedToken, "token is not a signed JWT")
	}
	hdrJSON, err := base64.RawURLEncoding.DecodeString(h64)
	if err != nil {
		return nil, keyID{}, 0, tokenError(middleware.ErrMalformedToken, "malformed token header")
	}
	var th typedHeader
	var dst any = &th.joseHeader
	if v.types != nil {
		dst = &th
	}
	if err := json.Unmarshal(hdrJSON, dst); err != nil {
		return nil, keyID{}, 0, tokenError(middleware.ErrMalformedToken, "malformed token header")
	}
	hdr := &th.joseHeader
	if hdr.Crit != nil {
		// RFC 7515 §4.1.11: no extension is understood here, so none may be critical.
		return nil, keyID{}, 0, tokenError(middleware.ErrMalformedToken, "unsupported critical header")
	}
	alg := jwa.SignatureAlgorithm(hdr.Alg)
	verifier, ok := v.algs[alg]
	if !ok {
		return nil, keyID{}, 0, tokenError(middleware.ErrUnsupportedAlgorithm, "signing algorithm not allowed")
	}
	keys, kerr := v.keys.key(ctx, hdr.Kid, alg)
	if kerr != nil {
		return nil, keyID{}, 0, kerr
	}
	sig, err := base64.RawURLEncoding.DecodeString(s64)
	if err != nil {
		return nil, keyID{}, 0, tokenError(middleware.ErrMalformedToken, "malformed token signature")
	}
	input := []byte(token[:len(h64)+1+len(p64)])
	verified := false
	var id keyID
	for _, k := range keys {
		if k.usableWith(alg) && verifier.Verify(input, sig, k.raw) == nil {
			verified, id = true, k.id
			break
		}
	}
	if !verified {
		return nil, keyID{}, 0, tokenError(middleware.ErrInvalidSignature, "invalid token signature")
	}
	if v.types != nil && !slices.Contains(v.types, normalizeType(th.Typ)) {
		return nil, keyID{}, 0, tokenError(middleware.ErrInvalidType, "token type not accepted")
	}
	payload, err := base64.RawURLEncoding.DecodeString(p64)
	if err != nil {
		return nil, keyID{}, 0, tokenError(middleware.ErrMalformedToken, "malformed token payload")
	}
	// One decode, by the module's one rule: a NumericDate is a JSON number
	// (RFC 7519 §2), as the exchanger reads the subject's "exp" too.
	claims, err := middleware.ParseClaims(payload)
	if err != nil {
		var e *middleware.Error
		if errors.As(err, &e) {
			return nil, keyID{}, 0, e
		}
		return nil, keyID{}, 0, tokenError(fmt.Errorf("%w: %w", middleware.ErrMalformedToken, err), "malformed token claims")
	}
	if e := v.checkClaims(claims); e != nil {
		return nil, keyID{}, 0, e
	}
	return claims, id, len(payload), nil
}

// checkClaims validates iss, aud, exp, nbf and iat (RFC 7519 §4.1, RFC 9068 §4).
func (v *Validator) checkClaims(c *middleware.Claims) *middleware.Error {
	if e := claimcheck.IssuerAudience(c, v.issuer, v.audiences); e != nil {
		return e
	}
	if c.Expiry.IsZero() {
		return tokenError(middleware.ErrMissingClaim, "token has no expiry")
	}
	return claimcheck.Times(c, v.now(), v.leeway)
}

// tokenError is a 401 invalid_token refusal.
func tokenError(cause error, desc string) *middleware.Error {
	return claimcheck.TokenError(cause, desc)
}

// unavailableError is a 503: the key set could not be fetched. retryAfter
// is zero when unknown.
func unavailableError(cause error, retryAfter time.Duration) *middleware.Error {
	return &middleware.Error{
		Code:        middleware.CodeTemporarilyUnavailable,
		Description: "signing keys unavailable",
		Status:      http.StatusServiceUnavailable,
		RetryAfter:  retryAfter,
		Err:         fmt.Errorf("%w: %w", middleware.ErrKeysUnavailable, cause),
	}
}
