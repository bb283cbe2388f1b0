package introspect

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/go-tokenexchange/tokenexchange/middleware"
)

// checkClaims checks an active answer's claims at now: iss, aud, exp
// (when present), nbf and iat.
func (v *Validator) checkClaims(c *middleware.Claims, now time.Time) *middleware.Error {
	if c.Issuer == "" {
		return tokenError(middleware.ErrMissingClaim, "token has no issuer")
	}
	if c.Issuer != v.issuer {
		return tokenError(middleware.ErrInvalidIssuer, "issuer mismatch")
	}
	if len(v.audiences) > 0 && !slices.ContainsFunc(c.Audience, func(a string) bool { return slices.Contains(v.audiences, a) }) {
		if len(c.Audience) == 0 {
			return tokenError(middleware.ErrMissingClaim, "token has no audience")
		}
		return tokenError(middleware.ErrInvalidAudience, "audience mismatch")
	}
	if !c.Expiry.IsZero() && !now.Before(c.Expiry.Add(v.leeway)) {
		return tokenError(middleware.ErrExpired, "token expired")
	}
	if !c.NotBefore.IsZero() && now.Add(v.leeway).Before(c.NotBefore) {
		return tokenError(middleware.ErrNotYetValid, "token not yet valid")
	}
	if !c.IssuedAt.IsZero() && now.Add(v.leeway).Before(c.IssuedAt) {
		return tokenError(middleware.ErrNotYetValid, "token issued in the future")
	}
	return nil
}

// policy runs Config.CheckClaims.
func (v *Validator) policy(ctx context.Context, claims *middleware.Claims) error {
	if v.check == nil {
		return nil
	}
	if err := v.check(ctx, claims); err != nil {
		var e *middleware.Error
		if errors.As(err, &e) {
			return e
		}
		return tokenError(fmt.Errorf("%w: %w", middleware.ErrRejected, err), "token rejected by policy")
	}
	return nil
}
