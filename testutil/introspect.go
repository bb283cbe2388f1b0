package testutil

import (
	"encoding/json"
	"net/http"
	"net/url"
)

// IntrospectionURL returns the RFC 7662 introspection endpoint,
// URL + "/introspect", advertised in discovery as "introspection_endpoint".
func (a *Authority) IntrospectionURL() string { return a.URL + "/introspect" }

// FailIntrospection queues f for the next n requests to the introspection
// endpoint, like [Authority.InjectFaults] for the token endpoint. A
// FaultDelay (with Delay or Hold) answers normally afterwards, and that
// request is counted.
func (a *Authority) FailIntrospection(n int, f Fault) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for range n {
		a.introspectFaults = append(a.introspectFaults, cloneFault(f))
	}
}

// Introspections returns how many requests the introspection endpoint
// answered itself (whatever the answer, including refused client
// authentication), not counting those answered with an injected fault.
func (a *Authority) Introspections() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.introspectionTotal
}

// IntrospectionsBy returns how many of [Authority.Introspections] came
// from a request claiming to be clientID.
func (a *Authority) IntrospectionsBy(clientID string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.introspections[clientID]
}

// serveIntrospect answers RFC 7662 §2: the client authenticates as at the
// token endpoint (any method but none); an active token is described by
// its claims (iss, sub, aud, exp, iat, nbf, jti, scope, client_id, act,
// ...) with active, token_type and, for a user's token, username; an
// unknown, expired or revoked token is {"active":false}. token_type is
// "Bearer" unless the token has a "token_type" claim of its own
// ([TokenClaims].Extra), which is answered instead: a test can so have
// the authority describe a refresh token as some servers do, beside a
// "typ" claim such as Keycloak's "Refresh" or "ID".
func (a *Authority) serveIntrospect(w http.ResponseWriter, r *http.Request) {
	form, auth, ok := a.protectedEndpoint(w, r, &a.introspectFaults, "introspection")
	if !ok {
		return
	}
	a.mu.Lock()
	a.introspectionTotal++
	a.introspections[auth.clientID]++
	a.mu.Unlock()
	token, ok := a.protectedToken(w, auth, form)
	if !ok {
		return
	}
	tok, err := a.verifyAny(token)
	if err != nil {
		writeJSON(w, http.StatusOK, map[string]any{"active": false})
		return
	}
	body, err := json.Marshal(tok)
	var resp map[string]any
	if err == nil {
		err = json.Unmarshal(body, &resp)
	}
	if err != nil {
		writeOAuthError(w, errorf(http.StatusInternalServerError, "server_error", "cannot describe token"))
		return
	}
	resp["active"] = true
	if _, own := resp["token_type"]; !own {
		resp["token_type"] = "Bearer"
	}
	if _, user := resp["sid"]; user && tok.Subject() != "" {
		resp["username"] = tok.Subject()
	}
	writeJSON(w, http.StatusOK, resp)
}

// protectedEndpoint does what the introspection and revocation endpoints
// do first: read the form (before a fault's delay, see serveToken), serve
// a queued fault, refuse another method than POST and a malformed form,
// and detect the client authentication. ok is false when it answered.
func (a *Authority) protectedEndpoint(w http.ResponseWriter, r *http.Request, faults *[]Fault, name string) (url.Values, clientAuth, bool) {
	var form url.Values
	var oerr *oauthError
	if r.Method == http.MethodPost {
		form, oerr = readForm(w, r)
	}
	a.mu.Lock()
	f, faulted := popFault(faults)
	a.mu.Unlock()
	if faulted && a.serveFault(w, r, f) {
		return nil, clientAuth{}, false
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeOAuthError(w, errorf(http.StatusMethodNotAllowed, "invalid_request", "the %s endpoint accepts POST only", name))
		return nil, clientAuth{}, false
	}
	if oerr != nil {
		writeOAuthError(w, oerr)
		return nil, clientAuth{}, false
	}
	return form, detectClientAuth(r, form), true
}

// protectedToken authenticates a client at the introspection or
// revocation endpoint as the token endpoint does, except that a public
// client (none) is refused (RFC 7662 §2.1 requires authorization), and
// returns the form's "token" parameter. ok is false when it answered w with the error.
func (a *Authority) protectedToken(w http.ResponseWriter, auth clientAuth, form url.Values) (token string, ok bool) {
	if auth.err == nil && auth.method == AuthNone {
		writeOAuthError(w, invalidClient(false, "client authentication required"))
		return "", false
	}
	if _, oerr := a.authenticate(auth, form); oerr != nil {
		writeOAuthError(w, oerr)
		return "", false
	}
	token = form.Get("token")
	if token == "" {
		writeOAuthError(w, invalidRequest("missing token"))
		return "", false
	}
	return token, true
}

// assertionAudience reports whether aud names this authority for a
// private_key_jwt client assertion: its issuer, or the URL of one of the
// endpoints that authenticate clients.
func (a *Authority) assertionAudience(aud string) bool {
	switch aud {
	case a.Issuer(), a.TokenURL(), a.IntrospectionURL(), a.RevocationURL():
		return true
	}
	return false
}
