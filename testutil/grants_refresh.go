package testutil

import (
	"net/url"
	"slices"
	"strings"
)

// grantRefreshToken implements RFC 6749 §6. The refresh token is rotated:
// a new one is returned, and the old one stays valid.
func (a *Authority) grantRefreshToken(c *registeredClient, form url.Values) (map[string]any, *oauthError) {
	rt := form.Get("refresh_token")
	if rt == "" {
		return nil, invalidRequest("missing refresh_token")
	}
	a.mu.Lock()
	stored := a.refresh[rt]
	var g refreshGrant
	if stored != nil {
		g = *stored
	}
	a.mu.Unlock()
	switch {
	case stored == nil:
		return nil, invalidGrant("Invalid refresh token")
	case g.clientID != c.ID:
		return nil, invalidGrant("Token client and authorized client don't match")
	case !a.now().Before(g.expires):
		return nil, invalidGrant("Refresh token expired")
	case !a.sessionActive(g.sessionID):
		return nil, invalidGrant("Session not active")
	}
	if req := form.Get("scope"); req != "" {
		granted := strings.Fields(g.scope)
		for _, s := range strings.Fields(req) {
			if !slices.Contains(granted, s) {
				return nil, invalidScope("scope %q was not granted to the refresh token", s)
			}
		}
		g.scope = strings.Join(strings.Fields(req), " ")
	}
	return a.userTokens(c, g)
}
