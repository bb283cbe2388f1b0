package testutil

import (
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/go-tokenexchange/tokenexchange/internal/numericdate"
)

// TokenClaims describes an access token for [Authority.IssueToken].
type TokenClaims struct {
	Subject  string   // sub; omitted when empty
	ClientID string   // client_id claim; omitted when empty
	Scope    string   // space-separated; omitted when empty
	Audience []string // aud, always a JSON array; omitted when empty
	// Expiry is exp. If zero, IssuedAt + Options.TokenLifetime.
	Expiry time.Time
	// IssuedAt is iat. If zero, Options.Now().
	IssuedAt time.Time
	// Act is the act claim (RFC 8693 §4.1), e.g. {"sub": "svc-a"}.
	Act map[string]any
	// Extra claims are set last and may override any other claim,
	// including iss.
	Extra map[string]any
}

// IssueToken signs an access token with the active key. The token is
// accepted as a subject or actor token by the token endpoint and by a
// [ResourceServer] whose audience it names. It panics if signing fails.
func (a *Authority) IssueToken(c TokenClaims) string {
	tok, err := a.sign(c, a.opts.TokenLifetime)
	if err != nil {
		panic(err)
	}
	return tok
}

// SignPayload signs payload, a JWT claims set, as it is, with the active
// key and the header of [Authority.IssueToken]: for tests of how a
// consumer reads claims IssueToken would not write, such as an "exp"
// given as a string. It panics if signing fails.
func (a *Authority) SignPayload(payload []byte) string {
	key := a.activeKey()
	hdr := jws.NewHeaders()
	_ = hdr.Set(jws.KeyIDKey, key.kid)
	_ = hdr.Set(jws.TypeKey, "at+jwt")
	b, err := jws.Sign(payload, jws.WithKey(key.alg, key.priv, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		panic(fmt.Sprintf("testutil: sign payload: %v", err))
	}
	return string(b)
}

// UserToken signs an access token for username as if obtained by clientID
// through the password grant: it opens a session (sid claim), and aud is
// aud, or clientID when aud is empty. The user need not be registered.
func (a *Authority) UserToken(username, clientID string, aud ...string) string {
	if len(aud) == 0 {
		aud = []string{clientID}
	}
	sid := a.openSession(username, clientID)
	return a.IssueToken(TokenClaims{
		Subject:  username,
		ClientID: clientID,
		Audience: aud,
		Extra:    map[string]any{"sid": sid},
	})
}

// sign builds and signs a JWT access token (RFC 9068 shape), or, for a
// client registered with OpaqueTokens, issues an opaque token with the
// same claims.
func (a *Authority) sign(c TokenClaims, lifetime time.Duration) (string, error) {
	tok := a.buildClaims(c, lifetime)
	if a.opaqueFor(c.ClientID) {
		return a.storeOpaque(tok), nil
	}
	key := a.activeKey()
	hdr := jws.NewHeaders()
	_ = hdr.Set(jws.KeyIDKey, key.kid)
	_ = hdr.Set(jws.TypeKey, "at+jwt")
	b, err := jwt.Sign(tok, jwt.WithKey(key.alg, key.priv, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return "", fmt.Errorf("testutil: sign token: %w", err)
	}
	return string(b), nil
}

// buildClaims builds the claim set of an access token.
func (a *Authority) buildClaims(c TokenClaims, lifetime time.Duration) jwt.Token {
	iat := c.IssuedAt
	if iat.IsZero() {
		iat = a.now()
	}
	exp := c.Expiry
	if exp.IsZero() {
		exp = iat.Add(lifetime)
	}
	tok := jwt.New()
	set := func(k string, v any) {
		if err := tok.Set(k, v); err != nil {
			panic(fmt.Sprintf("testutil: set claim %s: %v", k, err))
		}
	}
	set(jwt.IssuerKey, a.Issuer())
	set(jwt.IssuedAtKey, iat)
	set(jwt.ExpirationKey, exp)
	set(jwt.JwtIDKey, randomID(16))
	if c.Subject != "" {
		set(jwt.SubjectKey, c.Subject)
	}
	if len(c.Audience) > 0 {
		set(jwt.AudienceKey, c.Audience)
	}
	if c.ClientID != "" {
		set("client_id", c.ClientID)
	}
	if c.Scope != "" {
		set("scope", c.Scope)
	}
	if c.Act != nil {
		set("act", c.Act)
	}
	for k, v := range c.Extra {
		set(k, v)
	}
	return tok
}

// verify checks that raw is a JWT signed by one of the published keys,
// issued here, and unexpired per Options.Now. The error says why not, and
// never contains the token.
func (a *Authority) verify(raw string) (jwt.Token, error) {
	if strings.Count(raw, ".") != 2 {
		return nil, fmt.Errorf("not a JWT")
	}
	tok, err := jwt.Parse([]byte(raw), jwt.WithKeySet(a.verifySet()), jwt.WithValidate(false))
	if err != nil {
		return nil, fmt.Errorf("signature verification failed (unknown key or bad signature)")
	}
	// jwx reads a NumericDate given as a string; the library refuses it
	// (RFC 7519 §2), and so does this server. The signature verified, so
	// the payload is well-formed base64url.
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[1])
	if err != nil {
		return nil, fmt.Errorf("malformed payload")
	}
	if err := numericdate.Check(payload); err != nil {
		return nil, err
	}
	if tok.Issuer() != a.Issuer() {
		return nil, fmt.Errorf("issuer %q is not this authority", tok.Issuer())
	}
	now := a.now()
	exp := tok.Expiration()
	if exp.IsZero() {
		return nil, fmt.Errorf("token has no exp")
	}
	if !now.Before(exp) {
		return nil, fmt.Errorf("token expired")
	}
	if nbf := tok.NotBefore(); !nbf.IsZero() && now.Before(nbf) {
		return nil, fmt.Errorf("token not yet valid (nbf)")
	}
	if a.isRevoked(tok.JwtID()) {
		return nil, fmt.Errorf("token revoked")
	}
	return tok, nil
}

// stringClaim returns a private string claim, "" if absent.
func stringClaim(tok jwt.Token, name string) string {
	v, ok := tok.Get(name)
	if !ok {
		return ""
	}
	s, _ := v.(string)
	return s
}

// actChain lists the actors of tok, outermost first: act.sub,
// act.act.sub, ...
func actChain(tok jwt.Token) []string {
	v, _ := tok.Get("act")
	var chain []string
	for depth := 0; depth < 32; depth++ {
		m, ok := v.(map[string]any)
		if !ok {
			break
		}
		sub, _ := m["sub"].(string)
		chain = append(chain, sub)
		v = m["act"]
	}
	return chain
}
