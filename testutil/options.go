package testutil

import (
	"time"
)

// Algorithm names the JWS algorithm (RFC 7518 §3.1) with which an
// [Authority] signs its access tokens.
type Algorithm string

// The algorithms an [Authority] signs with.
const (
	// RS256 is RSASSA-PKCS1-v1_5 with SHA-256, over a 2048-bit RSA key.
	RS256 Algorithm = "RS256"
	// ES256 is ECDSA on P-256 with SHA-256.
	ES256 Algorithm = "ES256"
)

// Options configures [NewAuthority]. The zero value is valid.
type Options struct {
	// Algorithm signs access tokens: RS256 or ES256. If empty, RS256.
	Algorithm Algorithm
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
		o.Algorithm = RS256
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
