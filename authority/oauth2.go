package authority

import (
	"context"

	"golang.org/x/oauth2"
)

// OAuth2 adapts s to golang.org/x/oauth2's TokenSource, for code built on
// that package (oauth2.NewClient, gRPC credentials). The adapter calls
// s.Token with a background context; RenewTimeout bounds each renewal. The
// refresh token stays inside s. s already caches and renews: do not wrap
// the adapter in oauth2.ReuseTokenSource, whose cache would outlive a call
// to [CachedSource.Invalidate].
func (s *CachedSource) OAuth2() oauth2.TokenSource { return oauth2Source{s} }

type oauth2Source struct{ s *CachedSource }

func (o oauth2Source) Token() (*oauth2.Token, error) {
	t, err := o.s.Token(context.Background())
	if err != nil {
		return nil, err
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
