package testutil

import (
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
)

// Options configures [NewAuthority]. The zero value is valid.
type Options struct {
	// Algorithm signs access tokens: jwa.RS256 or jwa.ES256.
	// If empty, RS256 is used.
	Algorithm jwa.SignatureAlgorithm
	// TokenLifetime is the access token lifetime. If zero, 5 minutes.
	TokenLifetime time.Duration
	// RefreshLifetime is the refresh token lifetime. If zero, 30 minutes.
	RefreshLifetime time.Duration
	// Now is the clock used for iat, exp and every expiry check.
	// If nil, time.Now is used.
	Now func() time.Time
	// ExpiresInAsString sends expires_in as a JSON string, e.g. "300".
	ExpiresInAsString bool
	// OmitExpiresIn leaves expires_in out of token responses.
	OmitExpiresIn bool
}

func (o Options) withDefaults() Options {
	if o.Algorithm == "" {
		o.Algorithm = jwa.RS256
	}
	if o.TokenLifetime <= 0 {
		o.TokenLifetime = 5 * time.Minute
	}
	if o.RefreshLifetime <= 0 {
		o.RefreshLifetime = 30 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}
