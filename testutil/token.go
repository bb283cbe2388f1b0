package testutil

import (
	"mime"
	"net/http"
	"net/url"
)

// maxFormBytes bounds the token request body.
const maxFormBytes = 1 << 20

// repeatable reports whether a parameter may appear more than once
// (RFC 8693 §2.1); RFC 6749 §3.2 forbids repeating any other.
func repeatable(name string) bool { return name == "audience" || name == "resource" }

// grantHandler answers one grant for an authenticated client.
type grantHandler func(a *Authority, c *registeredClient, form url.Values) (map[string]any, *oauthError)

func grantFor(grantType string) grantHandler {
	switch grantType {
	case GrantClientCredentials:
		return (*Authority).grantClientCredentials
	case GrantPassword:
		return (*Authority).grantPassword
	case GrantRefreshToken:
		return (*Authority).grantRefreshToken
	case GrantTokenExchange:
		return (*Authority).grantTokenExchange
	case GrantJWTBearer:
		return (*Authority).grantOnBehalfOf
	}
	return nil
}

func (a *Authority) serveToken(w http.ResponseWriter, r *http.Request) {
	// The form is read before a fault's delay: the body must be read for
	// the delay to end when the client goes away (see drainBody), and a
	// FaultDelay then serves the request with it.
	var form url.Values
	var oerr *oauthError
	if r.Method == http.MethodPost {
		form, oerr = readForm(w, r)
	}
	a.mu.Lock()
	f, faulted := popFault(&a.tokenFaults)
	if faulted {
		a.faultsServed++
	}
	a.mu.Unlock()
	if faulted && a.serveFault(w, r, f) {
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeOAuthError(w, errorf(http.StatusMethodNotAllowed, "invalid_request", "the token endpoint accepts POST only"))
		return
	}
	if oerr != nil {
		writeOAuthError(w, oerr)
		return
	}
	grant := form.Get("grant_type")
	auth := detectClientAuth(r, form)
	a.record(grant, form, auth)

	if grant == "" {
		writeOAuthError(w, invalidRequest("missing grant_type"))
		return
	}
	handle := grantFor(grant)
	if handle == nil {
		writeOAuthError(w, errorf(http.StatusBadRequest, "unsupported_grant_type", "grant_type %q is not supported", grant))
		return
	}
	c, oerr := a.authenticate(auth, form)
	if oerr != nil {
		writeOAuthError(w, oerr)
		return
	}
	resp, oerr := handle(a, c, form)
	if oerr != nil {
		writeOAuthError(w, oerr)
		return
	}
	a.mu.Lock()
	a.issued[grant]++
	a.mu.Unlock()
	writeJSON(w, http.StatusOK, resp)
}

// readForm parses an application/x-www-form-urlencoded body (bounded),
// ignoring the query string, and rejects repeated parameters.
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, *oauthError) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, invalidRequest("Content-Type must be application/x-www-form-urlencoded")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return nil, invalidRequest("cannot parse form body")
	}
	for k, v := range r.PostForm {
		if len(v) > 1 && !repeatable(k) {
			return nil, invalidRequest("parameter %s included more than once", k)
		}
	}
	return r.PostForm, nil
}

// tokenResponse builds an RFC 6749 §5.1 response body.
func (a *Authority) tokenResponse(access string, lifetimeSeconds int64, scope string) map[string]any {
	resp := map[string]any{
		"access_token": access,
		"token_type":   "Bearer",
	}
	switch {
	case a.opts.OmitExpiresIn:
	case a.opts.ExpiresInAsString:
		resp["expires_in"] = itoa(lifetimeSeconds)
	default:
		resp["expires_in"] = lifetimeSeconds
	}
	if scope != "" {
		resp["scope"] = scope
	}
	return resp
}
