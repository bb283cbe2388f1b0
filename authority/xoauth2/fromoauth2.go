package xoauth2

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/oauth2"

	"github.com/go-tokenexchange/tokenexchange/authority"
)

// ErrInvalidToken is returned when the wrapped source gave no usable
// token: none (nil with a nil error), an empty access token, or (from an
// x/oauth2 source) one that has already expired.
var ErrInvalidToken = errors.New("xoauth2: the token source returned no valid token")

// FromOAuth2 adapts ts, an x/oauth2 TokenSource, to [authority.TokenSource],
// for an own-token route of package outbound or the actor of an exchange
// target. Wrap a source that fetches on every call in
// oauth2.ReuseTokenSource (clientcredentials.Config.TokenSource already is
// one) so that the token is cached.
//
// x/oauth2 takes no context in Token: the adapter returns ctx's error
// without calling ts when ctx has already ended, but cannot interrupt a
// call under way; ts is bounded by the context it was built with (that of
// Config.TokenSource(ctx)) and its HTTP client's timeout.
//
// The [authority.Token] has ts's access token, token type (oauth2.Token.Type:
// "Bearer" when empty), expiry, and the "scope" and "issued_token_type"
// extra values when the token response had them. Its refresh token is
// left out. A token without an expiry (x/oauth2 reads it as never
// expiring) keeps a zero Expiry, which [authority.Token.Expired] reports
// as expired, so that nothing caches it as valid forever.
//
// The adapter's Token returns ctx.Err() when ctx has ended; ts's error
// wrapped (an *oauth2.RetrieveError for a refusal by the authorization
// server: find it with errors.As), whose message names the refusal's HTTP
// status and OAuth error code but never the response body that
// RetrieveError's own message prints, since a server may echo credentials
// there; or [ErrInvalidToken] when
// ts returns no token, an empty one or an expired one.
// FromOAuth2(TokenSource(src)) is src.
func FromOAuth2(ts oauth2.TokenSource) authority.TokenSource {
	if t, ok := ts.(toOAuth2); ok {
		return t.src
	}
	return fromOAuth2{ts}
}

// fromOAuth2 is the adapter FromOAuth2 returns.
type fromOAuth2 struct{ ts oauth2.TokenSource }

// Token implements authority.TokenSource.
func (f fromOAuth2) Token(ctx context.Context) (*authority.Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ot, err := f.ts.Token()
	if err != nil {
		return nil, &sourceError{err: err}
	}
	if ot == nil || ot.AccessToken == "" || (!ot.Expiry.IsZero() && !ot.Valid()) {
		return nil, ErrInvalidToken
	}
	t := &authority.Token{AccessToken: ot.AccessToken, TokenType: ot.Type(), Expiry: ot.Expiry}
	if s, ok := ot.Extra("scope").(string); ok {
		t.Scope = s
	}
	if s, ok := ot.Extra("issued_token_type").(string); ok {
		t.IssuedTokenType = s
	}
	return t, nil
}

// sourceError wraps the error of an x/oauth2 source without repeating the
// response body an *oauth2.RetrieveError prints in its message.
type sourceError struct{ err error }

// maxCode bounds the OAuth error code quoted from a refusal.
const maxCode = 64

func (e *sourceError) Error() string {
	var re *oauth2.RetrieveError
	if !errors.As(e.err, &re) {
		return "xoauth2: " + e.err.Error()
	}
	status := 0
	if re.Response != nil {
		status = re.Response.StatusCode
	}
	msg := fmt.Sprintf("xoauth2: token request refused (HTTP %d)", status)
	if code := re.ErrorCode; code != "" {
		if len(code) > maxCode {
			code = code[:maxCode]
		}
		msg += fmt.Sprintf(": %q", code)
	}
	return msg
}

func (e *sourceError) Unwrap() error { return e.err }
