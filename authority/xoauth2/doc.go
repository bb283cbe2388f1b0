// Package xoauth2 adapts token sources between package authority and
// golang.org/x/oauth2, so that only the programs that use x/oauth2 compile
// it.
//
//	// An authority token source where x/oauth2 wants one
//	// (oauth2.NewClient, gRPC credentials):
//	httpClient := oauth2.NewClient(ctx, xoauth2.TokenSource(cached))
//
//	// An x/oauth2 token source (a clientcredentials.Config, Google's
//	// default credentials) as an own-token route's or an actor's source:
//	route.Tokens = xoauth2.FromOAuth2(ccConfig.TokenSource(ctx))
//
// Neither adapter caches: the source it wraps does (an
// [authority.CachedSource], or oauth2.ReuseTokenSource), and neither passes
// a refresh token on.
package xoauth2
