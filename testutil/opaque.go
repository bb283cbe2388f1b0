package testutil

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwt"
)

// opaquePrefix starts every opaque token, so that a test can tell one from
// a JWT at a glance; the rest is 32 random bytes, hex-encoded.
const opaquePrefix = "opaque."

// IssueOpaqueToken issues an opaque access token with the claims of c
// (with the defaults of [Authority.IssueToken]): a random string that
// only introspection ([Authority.IntrospectionURL]) tells anything about.
// It is accepted as a subject or actor token by the token endpoint, like
// a JWT the authority signed, until it expires or is revoked.
func (a *Authority) IssueOpaqueToken(c TokenClaims) string {
	return a.storeOpaque(a.buildClaims(c, a.opts.TokenLifetime))
}

// storeOpaque keeps the claims of a new opaque token and returns it.
func (a *Authority) storeOpaque(claims jwt.Token) string {
	raw := opaquePrefix + randomID(32)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.opaque[sha256.Sum256([]byte(raw))] = claims
	return raw
}

// opaqueFor reports whether tokens issued to clientID are opaque.
func (a *Authority) opaqueFor(clientID string) bool {
	if clientID == "" {
		return false
	}
	c := a.client(clientID)
	return c != nil && c.OpaqueTokens
}

// isRevoked reports whether the token with this jti was revoked.
func (a *Authority) isRevoked(jti string) bool {
	if jti == "" {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.revoked[jti]
}

// lookupOpaque returns the claims of an opaque token this authority
// issued, whatever its state; nil if it issued none such.
func (a *Authority) lookupOpaque(raw string) jwt.Token {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.opaque[sha256.Sum256([]byte(raw))]
}

// verifyAny checks raw as [Authority.verify] does when it looks like a
// JWT (two dots), and otherwise as an opaque token this authority issued:
// known, unexpired per Options.Now, valid already (nbf) and not revoked.
// The error never contains the token.
func (a *Authority) verifyAny(raw string) (jwt.Token, error) {
	if strings.Count(raw, ".") == 2 {
		return a.verify(raw)
	}
	tok := a.lookupOpaque(raw)
	if tok == nil {
		return nil, fmt.Errorf("not a JWT, nor an opaque token this authority issued")
	}
	if err := a.checkTimes(tok, a.now()); err != nil {
		return nil, err
	}
	if a.isRevoked(tok.JwtID()) {
		return nil, fmt.Errorf("token revoked")
	}
	return tok, nil
}

// checkTimes checks exp and nbf of tok at now.
func (a *Authority) checkTimes(tok jwt.Token, now time.Time) error {
	exp := tok.Expiration()
	if exp.IsZero() {
		return fmt.Errorf("token has no exp")
	}
	if !now.Before(exp) {
		return fmt.Errorf("token expired")
	}
	if nbf := tok.NotBefore(); !nbf.IsZero() && now.Before(nbf) {
		return fmt.Errorf("token not yet valid (nbf)")
	}
	return nil
}

// Revoke revokes token, a JWT this authority signed or an opaque token it
// issued, as its revocation endpoint does (RFC 7009): from now on the
// token is inactive at introspection and refused as a subject or actor
// token, and by a [ResourceServer]. It reports whether the token was
// recognised (a JWT is recognised by its signature, expired or not).
func (a *Authority) Revoke(token string) bool {
	tok := a.recognise(token)
	if tok == nil || tok.JwtID() == "" {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.revoked[tok.JwtID()] = true
	return true
}

// recognise returns the claims of a token this authority issued, whether
// or not it is still valid; nil if it did not issue it.
func (a *Authority) recognise(raw string) jwt.Token {
	if strings.Count(raw, ".") != 2 {
		return a.lookupOpaque(raw)
	}
	tok, err := jwt.Parse([]byte(raw), jwt.WithKeySet(a.verifySet()), jwt.WithValidate(false))
	if err != nil || tok.Issuer() != a.Issuer() {
		return nil
	}
	return tok
}
