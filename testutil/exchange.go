package testutil

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/lestrrat-go/jwx/v2/jwt"
)

// grantTokenExchange implements RFC 8693 as a strict server: subject and
// actor tokens must be unexpired, unrevoked JWTs signed by this authority
// or opaque tokens it issued, refused
// tokens get invalid_request (§2.2.2), and audiences must be known and
// permitted for the client (invalid_target).
func (a *Authority) grantTokenExchange(c *registeredClient, form url.Values) (map[string]any, *oauthError) {
	subject, oerr := a.inputToken(form, "subject_token")
	if oerr != nil {
		return nil, oerr
	}
	if c.RequireSubjectAudience && !slices.Contains(subject.Audience(), c.ID) {
		return nil, errorf(http.StatusForbidden, "access_denied", "Client is not within the token audience")
	}
	var actor jwt.Token
	if _, ok := form["actor_token"]; ok {
		if actor, oerr = a.inputToken(form, "actor_token"); oerr != nil {
			return nil, oerr
		}
	} else if _, ok := form["actor_token_type"]; ok {
		return nil, invalidRequest("actor_token_type without actor_token")
	}
	issuedType := form.Get("requested_token_type")
	switch issuedType {
	case "":
		issuedType = TokenTypeAccessToken
	case TokenTypeAccessToken, TokenTypeJWT:
	default:
		return nil, invalidRequest("unsupported requested_token_type %q", issuedType)
	}
	aud, oerr := a.targets(c, form)
	if oerr != nil {
		return nil, oerr
	}
	if len(aud) == 0 {
		aud = []string{c.ID}
	}
	scope, oerr := exchangeScope(form.Get("scope"), stringClaim(subject, "scope"), c.Scopes)
	if oerr != nil {
		return nil, oerr
	}

	// Keep the subject's other claims (sid, ...); set the rest anew.
	extra := maps.Clone(subject.PrivateClaims())
	for _, k := range []string{"act", "scope", "client_id"} {
		delete(extra, k)
	}
	claims := TokenClaims{
		Subject:  subject.Subject(),
		ClientID: c.ID,
		Scope:    scope,
		Audience: aud,
		Extra:    extra,
	}
	subjectAct, _ := subject.Get("act")
	if actor != nil {
		claims.Act = map[string]any{"sub": actor.Subject()}
		if subjectAct != nil {
			claims.Act["act"] = subjectAct
		}
	} else if m, ok := subjectAct.(map[string]any); ok {
		claims.Act = m
	}
	lifetime := a.lifetime(c)
	tok, err := a.sign(claims, lifetime)
	if err != nil {
		return nil, errorf(http.StatusInternalServerError, "server_error", "cannot sign token")
	}
	resp := a.tokenResponse(tok, int64(lifetime.Seconds()), scope)
	resp["issued_token_type"] = issuedType
	a.mu.Lock()
	a.exchanges[subject.Subject()]++
	a.mu.Unlock()
	return resp, nil
}

// inputToken reads and verifies subject_token or actor_token with its
// *_token_type parameter.
func (a *Authority) inputToken(form url.Values, name string) (jwt.Token, *oauthError) {
	raw := form.Get(name)
	if raw == "" {
		return nil, invalidRequest("missing %s", name)
	}
	typ, ok := form[name+"_type"]
	if !ok || typ[0] == "" {
		return nil, invalidRequest("missing %s_type", name)
	}
	if typ[0] != TokenTypeAccessToken && typ[0] != TokenTypeJWT {
		return nil, invalidRequest("unsupported %s_type %q", name, typ[0])
	}
	tok, err := a.verifyAny(raw)
	if err != nil {
		return nil, invalidRequest("%s rejected: %v", name, err)
	}
	if tok.Subject() == "" {
		return nil, invalidRequest("%s rejected: no sub claim", name)
	}
	return tok, nil
}

// exchangeScope returns the scope of an exchanged token: the requested
// scope, which must be within the subject token's scope (if it has one)
// and the client's allowed scopes (if any); by default the subject's.
func exchangeScope(requested, subjectScope string, allowed []string) (string, *oauthError) {
	if requested == "" {
		return subjectScope, nil
	}
	have := strings.Fields(subjectScope)
	want := strings.Fields(requested)
	for _, s := range want {
		if len(have) > 0 && !slices.Contains(have, s) {
			return "", invalidScope("scope %q exceeds the subject token's scope", s)
		}
		if len(allowed) > 0 && !slices.Contains(allowed, s) {
			return "", invalidScope("scope %q is not allowed for this client", s)
		}
	}
	return strings.Join(want, " "), nil
}
