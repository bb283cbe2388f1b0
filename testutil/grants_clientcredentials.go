package testutil

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// grantClientCredentials implements RFC 6749 §4.4. sub is the client ID;
// no refresh token is issued.
func (a *Authority) grantClientCredentials(c *registeredClient, form url.Values) (map[string]any, *oauthError) {
	if c.AuthMethod == AuthNone {
		return nil, errorf(http.StatusBadRequest, "unauthorized_client", "public clients cannot use client_credentials")
	}
	scope, aud, oerr := a.scopeAndAudience(c, form)
	if oerr != nil {
		return nil, oerr
	}
	lifetime := a.lifetime(c)
	tok, err := a.sign(TokenClaims{Subject: c.ID, ClientID: c.ID, Scope: scope, Audience: aud}, lifetime)
	if err != nil {
		return nil, errorf(http.StatusInternalServerError, "server_error", "cannot sign token")
	}
	return a.tokenResponse(tok, int64(lifetime.Seconds()), scope), nil
}

// scopeAndAudience reads the scope and the audiences (audience and
// resource parameters) a client credentials or password request asks for;
// with none named, the audience is the client itself.
func (a *Authority) scopeAndAudience(c *registeredClient, form url.Values) (string, []string, *oauthError) {
	scope, oerr := allowScope(form.Get("scope"), c.Scopes)
	if oerr != nil {
		return "", nil, oerr
	}
	aud, oerr := a.targets(c, form)
	if oerr != nil {
		return "", nil, oerr
	}
	if len(aud) == 0 {
		aud = []string{c.ID}
	}
	return scope, aud, nil
}

// allowScope checks that every requested scope is allowed. Empty allowed
// means any scope. With no scope requested, all allowed scopes are granted.
func allowScope(requested string, allowed []string) (string, *oauthError) {
	if requested == "" {
		return strings.Join(allowed, " "), nil
	}
	scopes := strings.Fields(requested)
	if len(scopes) == 0 {
		return "", invalidScope("empty scope")
	}
	if len(allowed) > 0 {
		for _, s := range scopes {
			if !slices.Contains(allowed, s) {
				return "", invalidScope("scope %q is not allowed for this client", s)
			}
		}
	}
	return strings.Join(scopes, " "), nil
}

// targets returns the audiences and resources a request names (RFC 8693
// §2.1), checked: audiences must be known and allowed for the client,
// resources absolute URIs.
func (a *Authority) targets(c *registeredClient, form url.Values) ([]string, *oauthError) {
	var aud []string
	for _, s := range form["audience"] {
		if s == "" {
			return nil, invalidTarget("empty audience")
		}
		if !a.knownAudience(s) {
			return nil, invalidTarget("unknown audience %q", s)
		}
		if len(c.ExchangeAudiences) > 0 && !slices.Contains(c.ExchangeAudiences, s) {
			return nil, invalidTarget("audience %q is not permitted for client %q", s, c.ID)
		}
		if !slices.Contains(aud, s) {
			aud = append(aud, s)
		}
	}
	for _, s := range form["resource"] {
		u, err := url.Parse(s)
		if err != nil || !u.IsAbs() || u.Fragment != "" {
			return nil, invalidTarget("resource %q is not an absolute URI without fragment", s)
		}
		if !slices.Contains(aud, s) {
			aud = append(aud, s)
		}
	}
	return aud, nil
}
