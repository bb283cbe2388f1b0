package testutil

import "net/http"

// RevocationURL returns the RFC 7009 revocation endpoint, URL + "/revoke",
// advertised in discovery as "revocation_endpoint".
func (a *Authority) RevocationURL() string { return a.URL + "/revoke" }

// Revocations returns how many requests the revocation endpoint answered
// with 200 (a token revoked, or one it did not know).
func (a *Authority) Revocations() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.revocations
}

// serveRevoke answers RFC 7009 §2: the client authenticates as at the token
// endpoint (any method but none), and the token, a JWT this authority
// signed or an opaque token it issued, is revoked as by
// [Authority.Revoke]. An unknown token is answered 200 too (§2.2). Any
// authenticated client may revoke any token; token_type_hint is ignored.
func (a *Authority) serveRevoke(w http.ResponseWriter, r *http.Request) {
	form, auth, ok := a.protectedEndpoint(w, r, new([]Fault), "revocation")
	if !ok {
		return
	}
	token, ok := a.protectedToken(w, auth, form)
	if !ok {
		return
	}
	a.Revoke(token)
	a.mu.Lock()
	a.revocations++
	a.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}
