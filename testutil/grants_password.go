package testutil

import (
	"net/http"
	"net/url"
)

// grantPassword implements RFC 6749 §4.3. It opens a session, returned as
// session_state like Keycloak does, and issues a refresh token bound to it.
func (a *Authority) grantPassword(c *registeredClient, form url.Values) (map[string]any, *oauthError) {
	username, password := form.Get("username"), form.Get("password")
	if username == "" {
		return nil, invalidRequest("missing username")
	}
	if _, ok := form["password"]; !ok {
		return nil, invalidRequest("missing password")
	}
	if !a.checkUser(username, password) {
		return nil, invalidGrant("Invalid user credentials")
	}
	scope, aud, oerr := a.scopeAndAudience(c, form)
	if oerr != nil {
		return nil, oerr
	}
	sid := a.openSession(username, c.ID)
	return a.userTokens(c, refreshGrant{
		sessionID: sid, clientID: c.ID, username: username, scope: scope, audience: aud,
	})
}

// userTokens issues an access token and a new refresh token for a session.
func (a *Authority) userTokens(c *registeredClient, g refreshGrant) (map[string]any, *oauthError) {
	lifetime := a.lifetime(c)
	tok, err := a.sign(TokenClaims{
		Subject:  g.username,
		ClientID: g.clientID,
		Scope:    g.scope,
		Audience: g.audience,
		Extra:    map[string]any{"sid": g.sessionID},
	}, lifetime)
	if err != nil {
		return nil, errorf(http.StatusInternalServerError, "server_error", "cannot sign token")
	}
	resp := a.tokenResponse(tok, int64(lifetime.Seconds()), g.scope)
	resp["refresh_token"] = a.newRefreshToken(g)
	resp["refresh_expires_in"] = int64(a.opts.RefreshLifetime.Seconds())
	resp["session_state"] = g.sessionID
	return resp, nil
}
