package authority

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// ClientCredentialsRequest asks for the client's own token (RFC 6749 §4.4).
type ClientCredentialsRequest struct {
	// Scopes are requested as the space-separated "scope".
	Scopes []string
	// Audiences are sent as repeated "audience" parameters, which many
	// servers accept for client credentials too.
	Audiences []string
	// Resources are sent as repeated "resource" parameters (RFC 8707).
	Resources []string
	// Extra holds further form parameters for servers that need them. It
	// cannot override a parameter the request sets itself.
	Extra url.Values
}

// PasswordRequest asks for a token with a resource owner's credentials
// (RFC 6749 §4.3). Printing it never shows the password.
type PasswordRequest struct {
	// Username is the resource owner's name. Required.
	Username string
	// Password is the resource owner's password.
	Password string
	// Scopes are requested as the space-separated "scope".
	Scopes []string
	// Extra holds further form parameters; it cannot override a parameter
	// the request sets itself.
	Extra url.Values
}

// RefreshRequest renews a token with its refresh token (RFC 6749 §6).
// Printing it never shows the refresh token.
type RefreshRequest struct {
	// RefreshToken is the refresh token to redeem. Required.
	RefreshToken string
	// Scopes, when set, narrow the renewed token.
	Scopes []string
	// Extra holds further form parameters; it cannot override a parameter
	// the request sets itself.
	Extra url.Values
}

// ExchangeRequest is an RFC 8693 §2.1 token exchange. Printing it never
// shows the subject or actor token.
type ExchangeRequest struct {
	// SubjectToken is the token being exchanged. Required.
	SubjectToken string
	// SubjectTokenType defaults to TokenTypeAccessToken.
	SubjectTokenType string
	// ActorToken, when set, names the party acting on the subject's behalf
	// (delegation); the issued token carries it in its "act" claim.
	ActorToken string
	// ActorTokenType defaults to TokenTypeAccessToken when ActorToken is set.
	ActorTokenType string
	// Audiences are sent as repeated "audience" parameters.
	Audiences []string
	// Resources are sent as repeated "resource" parameters; each must be an
	// absolute URI.
	Resources []string
	// Scopes are requested as the space-separated "scope".
	Scopes []string
	// RequestedTokenType defaults to TokenTypeAccessToken; it is always
	// sent, since some servers otherwise issue a refresh token.
	RequestedTokenType string
	// Extra holds further form parameters for servers that need them; it
	// cannot override a parameter the request sets itself.
	Extra url.Values
}

// ClientCredentials obtains the client's own token (RFC 6749 §4.4).
//
// Errors (see "Errors" in the package documentation): an [*Error] when
// the server refuses the request or does not answer with a usable token
// (errors.Is matches its code, such as [ErrInvalidClient]); a network
// failure, timeout or cut-off reply, wrapped; ctx's error, wrapped, when
// ctx ends; a discovery failure when the token endpoint is not known yet
// (see [Client.Metadata]); the Signer's error, wrapped, when it cannot
// sign the client assertion.
// An entry of r.Resources that is not an absolute URI without a fragment
// is refused before any request.
func (c *Client) ClientCredentials(ctx context.Context, r ClientCredentialsRequest) (*Token, error) {
	form := url.Values{}
	setScope(form, r.Scopes)
	setAll(form, "audience", r.Audiences)
	if err := setResources(form, r.Resources); err != nil {
		return nil, err
	}
	addExtra(form, r.Extra)
	return c.postForm(ctx, GrantClientCredentials, form)
}

// Password obtains a token with a resource owner's username and password
// (RFC 6749 §4.3).
//
// Errors (see "Errors" in the package documentation): an [*Error] when
// the server refuses the request or does not answer with a usable token
// (errors.Is matches its code, such as [ErrInvalidClient]); a network
// failure, timeout or cut-off reply, wrapped; ctx's error, wrapped, when
// ctx ends; a discovery failure when the token endpoint is not known yet
// (see [Client.Metadata]); the Signer's error, wrapped, when it cannot
// sign the client assertion.
// An empty r.Username is refused before any request.
func (c *Client) Password(ctx context.Context, r PasswordRequest) (*Token, error) {
	if r.Username == "" {
		return nil, errors.New("authority: password grant: PasswordRequest.Username is required")
	}
	form := url.Values{"username": {r.Username}, "password": {r.Password}}
	setScope(form, r.Scopes)
	addExtra(form, r.Extra)
	return c.postForm(ctx, GrantPassword, form, r.Password)
}

// Refresh renews a token with its refresh token. When the server issues no
// new refresh token, the returned Token carries the one presented, as RFC
// 6749 §6 lets the client keep using it.
//
// Errors (see "Errors" in the package documentation): an [*Error] when
// the server refuses the request or does not answer with a usable token
// (errors.Is matches its code, such as [ErrInvalidClient]); a network
// failure, timeout or cut-off reply, wrapped; ctx's error, wrapped, when
// ctx ends; a discovery failure when the token endpoint is not known yet
// (see [Client.Metadata]); the Signer's error, wrapped, when it cannot
// sign the client assertion.
// [ErrInvalidGrant] means the refresh token is no longer valid. An empty
// r.RefreshToken is refused before any request.
func (c *Client) Refresh(ctx context.Context, r RefreshRequest) (*Token, error) {
	if r.RefreshToken == "" {
		return nil, errors.New("authority: refresh: RefreshRequest.RefreshToken is required")
	}
	form := url.Values{"refresh_token": {r.RefreshToken}}
	setScope(form, r.Scopes)
	addExtra(form, r.Extra)
	tok, err := c.postForm(ctx, GrantRefreshToken, form, r.RefreshToken)
	if err != nil {
		return nil, err
	}
	if tok.RefreshToken == "" {
		tok.RefreshToken = r.RefreshToken
	}
	return tok, nil
}

// Exchange performs an RFC 8693 token exchange.
//
// Errors (see "Errors" in the package documentation): an [*Error] when
// the server refuses the request or does not answer with a usable token
// (errors.Is matches its code, such as [ErrInvalidClient]); a network
// failure, timeout or cut-off reply, wrapped; ctx's error, wrapped, when
// ctx ends; a discovery failure when the token endpoint is not known yet
// (see [Client.Metadata]); the Signer's error, wrapped, when it cannot
// sign the client assertion.
// RFC 8693 §2.2.2 answers an unacceptable subject or actor token with
// [ErrInvalidRequest] (some servers with [ErrInvalidGrant]); an audience
// or resource the server will not issue for with [ErrInvalidTarget]. An
// empty r.SubjectToken, an ActorTokenType without ActorToken or a resource
// that is not an absolute URI are refused before any request.
func (c *Client) Exchange(ctx context.Context, r ExchangeRequest) (*Token, error) {
	if r.SubjectToken == "" {
		return nil, errors.New("authority: token exchange: ExchangeRequest.SubjectToken is required")
	}
	form := url.Values{
		"subject_token":        {r.SubjectToken},
		"subject_token_type":   {orDefault(r.SubjectTokenType, TokenTypeAccessToken)},
		"requested_token_type": {orDefault(r.RequestedTokenType, TokenTypeAccessToken)},
	}
	if r.ActorToken != "" {
		form.Set("actor_token", r.ActorToken)
		form.Set("actor_token_type", orDefault(r.ActorTokenType, TokenTypeAccessToken))
	} else if r.ActorTokenType != "" {
		return nil, errors.New("authority: token exchange: ActorTokenType set without ActorToken")
	}
	setAll(form, "audience", r.Audiences)
	if err := setResources(form, r.Resources); err != nil {
		return nil, err
	}
	setScope(form, r.Scopes)
	addExtra(form, r.Extra)
	tok, err := c.postForm(ctx, GrantTokenExchange, form, r.SubjectToken, r.ActorToken)
	if err != nil {
		return nil, err
	}
	if tok.IssuedTokenType == "" {
		// RFC 8693 §2.2.1 requires it; a server that leaves it out issued
		// what was asked for.
		tok.IssuedTokenType = form.Get("requested_token_type")
	}
	return tok, nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func setScope(form url.Values, scopes []string) {
	if len(scopes) > 0 {
		form.Set("scope", strings.Join(scopes, " "))
	}
}

func setAll(form url.Values, name string, values []string) {
	for _, v := range values {
		if v != "" {
			form.Add(name, v)
		}
	}
}

// setResources adds each resource after checking that it is an absolute URI
// without a fragment (RFC 8707 §2, RFC 8693 §2.1).
func setResources(form url.Values, resources []string) error {
	for _, res := range resources {
		u, err := url.Parse(res)
		if err != nil || !u.IsAbs() || u.Fragment != "" {
			return fmt.Errorf("authority: resource %q must be an absolute URI without a fragment", sanitize(res, maxDescription, nil))
		}
		form.Add("resource", res)
	}
	return nil
}

// addExtra copies extra parameters that the request does not already set.
func addExtra(form, extra url.Values) {
	for k, vs := range extra {
		if _, taken := form[k]; taken || reserved(k) {
			continue
		}
		form[k] = append([]string(nil), vs...)
	}
}

// reserved names parameters that only the client itself may set.
func reserved(name string) bool {
	switch name {
	case "grant_type", "client_id", "client_secret", "client_assertion", "client_assertion_type":
		return true
	}
	return false
}
