package testutil

import (
	"fmt"
	"net/http"
	"time"
)

// entraMembers are the members Microsoft Entra ID adds to an error
// response: the AADSTS code (in error_codes, and leading the
// description), timestamp, trace_id, correlation_id, error_uri and, for a
// Conditional Access step-up, claims.
type entraMembers struct {
	aadsts int
	claims string
	at     time.Time
}

// entraError builds an error in Entra ID's shape: the description starts
// with "AADSTS<code>: " and ends with the trace, correlation and time
// lines, as Entra ID writes them.
func (a *Authority) entraError(status int, code string, aadsts int, format string, args ...any) *oauthError {
	e := errorf(status, code, "AADSTS%d: %s", aadsts, fmt.Sprintf(format, args...))
	e.entra = &entraMembers{aadsts: aadsts, at: a.now().UTC()}
	return e
}

func (m *entraMembers) body(code, desc string) map[string]any {
	trace, corr := uuidLike(), uuidLike()
	ts := m.at.Format("2006-01-02 15:04:05Z")
	out := map[string]any{
		"error":             code,
		"error_description": fmt.Sprintf("%s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s", desc, trace, corr, ts),
		"error_codes":       []int{m.aadsts},
		"timestamp":         ts,
		"trace_id":          trace,
		"correlation_id":    corr,
		"error_uri":         fmt.Sprintf("https://login.microsoftonline.com/error?code=%d", m.aadsts),
	}
	if m.claims != "" {
		out["claims"] = m.claims
	}
	return out
}

// uuidLike returns a random identifier in the shape of a GUID.
func uuidLike() string {
	h := randomID(16) // 32 hexadecimal digits
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func invalidGrantAADSTS(a *Authority, aadsts int, format string, args ...any) *oauthError {
	return a.entraError(http.StatusBadRequest, "invalid_grant", aadsts, format, args...)
}
