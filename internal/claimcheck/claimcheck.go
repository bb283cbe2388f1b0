// Package claimcheck holds the checks of a token's claims that
// middleware/jwt and middleware/introspect share: issuer and audience,
// the time claims with a leeway (RFC 7519 §4.1), and the application's
// policy. Every refusal is a 401 invalid_token [*middleware.Error].
package claimcheck

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/go-tokenexchange/tokenexchange/middleware"
)

// TokenError is a 401 invalid_token refusal with desc, caused by cause.
func TokenError(cause error, desc string) *middleware.Error {
	return &middleware.Error{Code: middleware.CodeInvalidToken, Description: desc, Status: http.StatusUnauthorized, Err: cause}
}

// IssuerAudience refuses c unless its issuer is issuer and, when
// audiences is not empty, its audience names one of them.
func IssuerAudience(c *middleware.Claims, issuer string, audiences []string) *middleware.Error {
	if c.Issuer == "" {
		return TokenError(middleware.ErrMissingClaim, "token has no issuer")
	}
	if c.Issuer != issuer {
		return TokenError(middleware.ErrInvalidIssuer, "issuer mismatch")
	}
	if len(audiences) > 0 && !slices.ContainsFunc(c.Audience, func(a string) bool { return slices.Contains(audiences, a) }) {
		if len(c.Audience) == 0 {
			return TokenError(middleware.ErrMissingClaim, "token has no audience")
		}
		return TokenError(middleware.ErrInvalidAudience, "audience mismatch")
	}
	return nil
}

// Times refuses c at now, with leeway either way: expired ("exp", when
// present, not after now minus leeway), not yet valid ("nbf" after now
// plus leeway) or issued in the future ("iat" after now plus leeway).
// A caller that requires "exp" checks its presence first.
func Times(c *middleware.Claims, now time.Time, leeway time.Duration) *middleware.Error {
	if !c.Expiry.IsZero() && !now.Before(c.Expiry.Add(leeway)) {
		return TokenError(middleware.ErrExpired, "token expired")
	}
	if !c.NotBefore.IsZero() && now.Add(leeway).Before(c.NotBefore) {
		return TokenError(middleware.ErrNotYetValid, "token not yet valid")
	}
	if !c.IssuedAt.IsZero() && now.Add(leeway).Before(c.IssuedAt) {
		return TokenError(middleware.ErrNotYetValid, "token issued in the future")
	}
	return nil
}

// Policy runs check, a validator's Config.CheckClaims, on c when it is
// set. A *middleware.Error in its error's chain is returned as it is;
// any other error is refused as [middleware.ErrRejected].
func Policy(ctx context.Context, check func(context.Context, *middleware.Claims) error, c *middleware.Claims) *middleware.Error {
	if check == nil {
		return nil
	}
	if err := check(ctx, c); err != nil {
		var e *middleware.Error
		if errors.As(err, &e) {
			return e
		}
		return TokenError(fmt.Errorf("%w: %w", middleware.ErrRejected, err), "token rejected by policy")
	}
	return nil
}
