package authority

import (
	"context"
	"errors"
	"net/url"
	"strings"
)

// GrantJWTBearer is the grant_type of RFC 7523 §2.1, which Microsoft Entra
// ID's On-Behalf-Of flow uses with requested_token_use=on_behalf_of.
const GrantJWTBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// OnBehalfOfRequest is a Microsoft Entra ID On-Behalf-Of request: the
// RFC 7523 §2.1 jwt-bearer grant with the caller's access token as the
// assertion and requested_token_use=on_behalf_of. Printing it never shows
// the assertion.
//
// It is a request type of its own rather than a dialect of
// [ExchangeRequest]: the two grants share no parameter but the scope, and
// the fields an On-Behalf-Of request cannot carry (audience, resource,
// actor, token types) would be ones the caller could set and the server
// would reject.
type OnBehalfOfRequest struct {
	// Assertion is the caller's access token, issued for this client (its
	// "aud" is this client's application ID). Required.
	Assertion string
	// Scopes are requested as the space-separated "scope", such as
	// "api://orders/.default". At least one is required.
	Scopes []string
	// Extra holds further form parameters; it cannot override a parameter
	// the request sets itself.
	Extra url.Values
}

// OnBehalfOf performs Microsoft Entra ID's On-Behalf-Of flow: grant_type
// [GrantJWTBearer], assertion = r.Assertion,
// requested_token_use=on_behalf_of and scope, with the client's secret or
// private_key_jwt assertion (whose "aud" is the token endpoint, as Entra
// ID requires; with [Config.Certificate] its header carries "x5t#S256").
//
// Errors (see "Errors" in the package documentation): an [*Error] when
// the server refuses the request or does not answer with a usable token;
// a network failure, timeout or cut-off reply, wrapped; ctx's error,
// wrapped; a discovery failure; the Signer's error, wrapped. Entra ID
// answers an expired or unacceptable assertion with [ErrInvalidGrant]
// (AADSTS codes in [Error.Description] and [Error.ErrorCodes]), a scope
// the user or an administrator has not consented to with
// [ErrConsentRequired], and a Conditional Access policy the assertion does
// not satisfy with [ErrInteractionRequired] and the claims challenge in
// [Error.Claims]. An empty r.Assertion or no scope is refused before any
// request.
func (c *Client) OnBehalfOf(ctx context.Context, r OnBehalfOfRequest) (*Token, error) {
	if r.Assertion == "" {
		return nil, errors.New("authority: on-behalf-of: OnBehalfOfRequest.Assertion is required")
	}
	form := url.Values{
		"assertion":           {r.Assertion},
		"requested_token_use": {"on_behalf_of"},
	}
	setScope(form, strings.Fields(strings.Join(r.Scopes, " ")))
	if form.Get("scope") == "" {
		return nil, errors.New("authority: on-behalf-of: OnBehalfOfRequest.Scopes is required")
	}
	addExtra(form, r.Extra)
	return c.postForm(ctx, GrantJWTBearer, form, r.Assertion)
}
