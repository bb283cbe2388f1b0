package testutil

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// oboRule is what an On-Behalf-Of request for one scope must meet beyond
// a valid assertion.
type oboRule struct {
	consent bool   // answer consent_required
	acr     string // the assertion's "acrs" must hold it, else interaction_required
}

// RequireConsent makes On-Behalf-Of requests for scope (such as
// "api://orders/.default") fail as Microsoft Entra ID fails them when
// nobody has consented to the middle tier calling that API: 400
// consent_required, AADSTS65001. It replaces any earlier rule for scope.
func (a *Authority) RequireConsent(scope string) {
	a.setOBORule(scope, oboRule{consent: true})
}

// RequireStepUp makes On-Behalf-Of requests for scope fail as a Microsoft
// Entra ID Conditional Access policy with an authentication context does
// (AADSTS50076): 400 interaction_required with the claims challenge
// {"access_token":{"acrs":{"essential":true,"value":acr}}}, unless the
// assertion's "acrs" claim (a string array, see [TokenClaims].Extra)
// holds acr. It replaces any earlier rule for scope.
func (a *Authority) RequireStepUp(scope, acr string) {
	a.setOBORule(scope, oboRule{acr: acr})
}

// StepUpClaims returns the claims challenge RequireStepUp sends for acr.
func StepUpClaims(acr string) string {
	b, _ := json.Marshal(map[string]any{"access_token": map[string]any{"acrs": map[string]any{"essential": true, "value": acr}}})
	return string(b)
}

func (a *Authority) setOBORule(scope string, r oboRule) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.oboRules == nil {
		a.oboRules = map[string]oboRule{}
	}
	a.oboRules[scope] = r
}

// grantOnBehalfOf answers the RFC 7523 §2.1 jwt-bearer grant as Microsoft
// Entra ID's On-Behalf-Of flow (the middle tier has authenticated as c):
// requested_token_use=on_behalf_of and a scope are required; the assertion
// must be an unexpired JWT this authority signed whose "aud" names c;
// every scope must be of one API ("api://orders/.default",
// "api://orders/read"), and the issued token has that API as "aud", the
// scope's permission names as "scp" (user_impersonation for .default), the
// assertion's "sub" and c as "azp". Refusals have Entra ID's shape
// (AADSTS codes, error_codes, trace_id, ...).
func (a *Authority) grantOnBehalfOf(c *registeredClient, form url.Values) (map[string]any, *oauthError) {
	if form.Get("requested_token_use") != "on_behalf_of" {
		return nil, a.entraError(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'requested_token_use' with the value 'on_behalf_of'.")
	}
	raw := form.Get("assertion")
	if raw == "" {
		return nil, a.entraError(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'assertion'.")
	}
	scopes := strings.Fields(form.Get("scope"))
	if len(scopes) == 0 {
		return nil, a.entraError(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'.")
	}
	assertion, err := a.verify(raw)
	switch {
	case err != nil && strings.Contains(err.Error(), "expired"):
		return nil, invalidGrantAADSTS(a, 500133, "Assertion is not within its valid time range.")
	case err != nil:
		return nil, invalidGrantAADSTS(a, 50013, "Assertion failed signature validation.")
	case assertion.Subject() == "":
		return nil, invalidGrantAADSTS(a, 50013, "Assertion has no subject.")
	case !slices.Contains(assertion.Audience(), c.ID):
		return nil, invalidGrantAADSTS(a, 50013, "Assertion audience does not match the Client app presenting the assertion.")
	}
	api, perms, oerr := a.oboScopes(c, scopes)
	if oerr != nil {
		return nil, oerr
	}
	if oerr := a.oboRulesFor(scopes, assertion.PrivateClaims()["acrs"]); oerr != nil {
		return nil, oerr
	}

	extra := maps.Clone(assertion.PrivateClaims())
	for _, k := range []string{"act", "scope", "scp", "client_id", "azp"} {
		delete(extra, k)
	}
	extra["scp"] = strings.Join(perms, " ")
	extra["azp"] = c.ID
	lifetime := a.lifetime(c)
	tok, err := a.sign(TokenClaims{Subject: assertion.Subject(), Audience: []string{api}, Extra: extra}, lifetime)
	if err != nil {
		return nil, errorf(http.StatusInternalServerError, "server_error", "cannot sign token")
	}
	resp := a.tokenResponse(tok, int64(lifetime.Seconds()), strings.Join(scopes, " "))
	a.mu.Lock()
	a.exchanges[assertion.Subject()]++
	a.mu.Unlock()
	return resp, nil
}

// oboScopes checks that every scope names one API and is allowed for c,
// and returns the API and the permission names.
func (a *Authority) oboScopes(c *registeredClient, scopes []string) (api string, perms []string, _ *oauthError) {
	for _, s := range scopes {
		i := strings.LastIndex(s, "/")
		if i <= 0 || i == len(s)-1 {
			return "", nil, a.entraError(http.StatusBadRequest, "invalid_scope", 70011, "The provided value for the input parameter 'scope' is not valid. The scope %s is not valid.", s)
		}
		if api != "" && s[:i] != api {
			return "", nil, a.entraError(http.StatusBadRequest, "invalid_request", 28000, "Provided value for the input parameter scope is not valid because it contains more than one resource.")
		}
		if len(c.Scopes) > 0 && !slices.Contains(c.Scopes, s) {
			return "", nil, a.entraError(http.StatusBadRequest, "invalid_scope", 70011, "The provided value for the input parameter 'scope' is not valid. The scope %s is not valid.", s)
		}
		api = s[:i]
		perm := s[i+1:]
		if perm == ".default" {
			perm = "user_impersonation"
		}
		perms = append(perms, perm)
	}
	return api, perms, nil
}

// oboRulesFor applies RequireConsent and RequireStepUp; acrs is the
// assertion's "acrs" claim.
func (a *Authority) oboRulesFor(scopes []string, acrs any) *oauthError {
	a.mu.Lock()
	rules := make([]oboRule, 0, len(scopes))
	for _, s := range scopes {
		if r, ok := a.oboRules[s]; ok {
			rules = append(rules, r)
		}
	}
	a.mu.Unlock()
	for _, r := range rules {
		if r.consent {
			return a.entraError(http.StatusBadRequest, "consent_required", 65001, "The user or administrator has not consented to use the application. Send an interactive authorization request for this user and resource.")
		}
		if r.acr != "" && !hasACR(acrs, r.acr) {
			e := a.entraError(http.StatusBadRequest, "interaction_required", 50076, "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access this resource.")
			e.entra.claims = StepUpClaims(r.acr)
			return e
		}
	}
	return nil
}

func hasACR(acrs any, want string) bool {
	list, _ := acrs.([]any)
	for _, v := range list {
		if s, _ := v.(string); s == want {
			return true
		}
	}
	return false
}
