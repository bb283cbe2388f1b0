package authority

import "context"

// TokenSource supplies a token: the service's own token for an own-token
// route, or the acting service's token sent as the actor_token of a
// delegated exchange. [*CachedSource] is the implementation that obtains
// and renews it by a [Grant]; any other (a token from a file, a workload
// identity, an x/oauth2 source through package xoauth2) can take its place.
//
// Token must be safe for concurrent use, return a token valid at the time
// of the call (never nil with a nil error), and honour ctx. Callers do not
// modify the returned Token.
type TokenSource interface {
	Token(ctx context.Context) (*Token, error)
}

// Invalidator is implemented by a [TokenSource] that caches its token, so
// that a token a downstream service refused with 401 is not handed out
// again: Invalidate drops refused, and the next call to Token returns
// another token. It must do nothing when the source has already moved on
// to another token.
type Invalidator interface {
	Invalidate(refused *Token)
}

// Both interfaces are implemented by the caching source.
var (
	_ TokenSource = (*CachedSource)(nil)
	_ Invalidator = (*CachedSource)(nil)
)
