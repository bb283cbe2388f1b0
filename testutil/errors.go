package testutil

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// oauthError is an RFC 6749 §5.2 error response.
type oauthError struct {
	status int
	code   string
	desc   string
	basic  bool // add WWW-Authenticate: Basic (client tried HTTP Basic)
	// entra, when set, adds Microsoft Entra ID's members (see entraError).
	entra *entraMembers
}

func errorf(status int, code, format string, args ...any) *oauthError {
	return &oauthError{status: status, code: code, desc: fmt.Sprintf(format, args...)}
}

func invalidRequest(format string, args ...any) *oauthError {
	return errorf(http.StatusBadRequest, "invalid_request", format, args...)
}

func invalidClient(basic bool, format string, args ...any) *oauthError {
	e := errorf(http.StatusUnauthorized, "invalid_client", format, args...)
	e.basic = basic
	return e
}

func invalidGrant(format string, args ...any) *oauthError {
	return errorf(http.StatusBadRequest, "invalid_grant", format, args...)
}

func invalidScope(format string, args ...any) *oauthError {
	return errorf(http.StatusBadRequest, "invalid_scope", format, args...)
}

func invalidTarget(format string, args ...any) *oauthError {
	return errorf(http.StatusBadRequest, "invalid_target", format, args...)
}

func writeOAuthError(w http.ResponseWriter, e *oauthError) {
	if e.basic {
		w.Header().Set("WWW-Authenticate", `Basic realm="testutil"`)
	}
	if e.entra != nil {
		writeJSON(w, e.status, e.entra.body(e.code, e.desc))
		return
	}
	writeJSON(w, e.status, map[string]string{"error": e.code, "error_description": e.desc})
}

// writeJSON writes v with no-store caching, as RFC 6749 §5.1 requires.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "testutil: encode response", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
