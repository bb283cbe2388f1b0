package xoauth2

import (
	"context"

	"golang.org/x/oauth2"

	"github.com/go-tokenexchange/tokenexchange/authority"
)

// TokenSource adapts src to x/oauth2's TokenSource, for code built on that
// package (oauth2.NewClient, oauth2.Transport, gRPC credentials).
//
// x/oauth2 gives Token no context: the adapter calls src.Token with
// context.Background(), so src must bound its own calls, as an
// [authority.CachedSource] does with CachedSourceOptions.RenewTimeout. The
// oauth2.Token has src's access token, token type and expiry, and the
// scope and issued_token_type as its Extra values; the refresh token
// stays inside src.
//
// An [*authority.CachedSource] already caches and renews: do not wrap the
// adapter in oauth2.ReuseTokenSource, whose cache would outlive a call to
// [authority.CachedSource.Invalidate].
//
// The adapter's Token returns src's error as it is (an [*authority.Error]
// for a refusal by the authorization server, see [authority.IsTemporary]),
// or [ErrInvalidToken] when src returns no token or an empty one.
// TokenSource(FromOAuth2(ts)) is ts.
func TokenSource(src authority.TokenSource) oauth2.TokenSource {
	if f, ok := src.(fromOAuth2); ok {
		return f.ts
	}
	return toOAuth2{src}
}

// toOAuth2 is the adapter TokenSource returns.
type toOAuth2 struct{ src authority.TokenSource }

// Token implements oauth2.TokenSource.
func (o toOAuth2) Token() (*oauth2.Token, error) {
	t, err := o.src.Token(context.Background())
	if err != nil {
		return nil, err
	}
	if t == nil || t.AccessToken == "" {
		return nil, ErrInvalidToken
	}
	ot := &oauth2.Token{AccessToken: t.AccessToken, TokenType: t.TokenType, Expiry: t.Expiry}
	extra := map[string]any{}
	if t.Scope != "" {
		extra["scope"] = t.Scope
	}
	if t.IssuedTokenType != "" {
		extra["issued_token_type"] = t.IssuedTokenType
	}
	return ot.WithExtra(extra), nil
}
