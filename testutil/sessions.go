package testutil

import "time"

// session is a user login, like a Keycloak user session.
type session struct {
	id       string
	username string
	clientID string
	active   bool
}

// refreshGrant is what an opaque refresh token stands for.
type refreshGrant struct {
	sessionID string
	clientID  string
	username  string
	scope     string
	audience  []string
	expires   time.Time
}

func (a *Authority) openSession(username, clientID string) string {
	s := &session{id: randomID(16), username: username, clientID: clientID, active: true}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sessions[s.id] = s
	return s.id
}

// newRefreshToken stores g under a new opaque refresh token.
func (a *Authority) newRefreshToken(g refreshGrant) string {
	tok := randomID(32)
	g.expires = a.now().Add(a.opts.RefreshLifetime)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.refresh[tok] = &g
	return tok
}

func (a *Authority) sessionActive(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.sessions[id]
	return s != nil && s.active
}

// RevokeSession ends a session: refresh tokens bound to it then fail with
// invalid_grant "Session not active". Access tokens already issued stay
// valid until they expire, as with a real authority.
func (a *Authority) RevokeSession(sessionID string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if s := a.sessions[sessionID]; s != nil {
		s.active = false
	}
}

// RevokeUserSessions ends every session of username.
func (a *Authority) RevokeUserSessions(username string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, s := range a.sessions {
		if s.username == username {
			s.active = false
		}
	}
}
