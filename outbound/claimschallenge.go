package outbound

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/go-tokenexchange/tokenexchange/authority"
)

// maxClaimsChallenge bounds the claims JSON passed to a caller; the
// authority package already keeps no longer one (2 KiB).
const maxClaimsChallenge = 2 << 10

// claimsChallenge returns the WWW-Authenticate value that passes an
// On-Behalf-Of refusal's claims challenge to the caller, in the form
// Microsoft documents for resource APIs (Microsoft Entra "Claims
// challenges, claims requests and client capabilities"):
//
//	Bearer realm="", authorization_uri="https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize", error="insufficient_claims", claims="<base64 of the claims JSON>"
//
// authorization_uri is the authority's discovered authorization endpoint
// ([authority.Error.AuthorizationURI]) and is left out when unknown. The
// claims value is the JSON object [authority.Error.Claims] holds (checked
// there to be a bounded JSON object holding no credential), checked again
// here and encoded with standard base64 by this package, so that nothing
// the authority sent reaches the header unencoded. ok is false when e has
// no usable claims challenge.
func claimsChallenge(e *authority.Error) (value string, ok bool) {
	c := e.Claims
	if c == "" || len(c) > maxClaimsChallenge || !json.Valid([]byte(c)) || c[0] != '{' {
		return "", false
	}
	var b strings.Builder
	b.WriteString(`Bearer realm=""`)
	if u := e.AuthorizationURI; u != "" && quotable(u) {
		b.WriteString(`, authorization_uri="`)
		b.WriteString(u)
		b.WriteString(`"`)
	}
	b.WriteString(`, error="insufficient_claims", claims="`)
	b.WriteString(base64.StdEncoding.EncodeToString([]byte(c)))
	b.WriteString(`"`)
	return b.String(), true
}

// quotable reports whether s can stand in a quoted header parameter as
// it is: printable ASCII without a quote or a backslash.
func quotable(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// onBehalfOfStatus maps a permanent refusal of an On-Behalf-Of request.
func onBehalfOfStatus(ae *authority.Error) (int, http.Header) {
	switch {
	case errors.Is(ae, authority.ErrInteractionRequired):
		if v, ok := claimsChallenge(ae); ok {
			return http.StatusUnauthorized, http.Header{"Www-Authenticate": {v}}
		}
		return http.StatusUnauthorized, http.Header{"Www-Authenticate": {challengeInvalid}}
	case errors.Is(ae, authority.ErrInvalidGrant):
		return http.StatusUnauthorized, http.Header{"Www-Authenticate": {challengeInvalid}}
	case errors.Is(ae, authority.ErrConsentRequired), errors.Is(ae, authority.ErrAccessDenied):
		return http.StatusForbidden, nil
	}
	return http.StatusBadGateway, nil
}
