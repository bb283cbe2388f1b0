package gateway

import (
	"fmt"
	"io"
)

// String describes the configuration without its secrets: the client
// secret and key print as "[redacted]" (or "none"), the Redis URL without
// its user and password, the cache keys as their number.
func (c Config) String() string {
	redact := func(set bool) string {
		if set {
			return "[redacted]"
		}
		return "none"
	}
	keys := "none"
	if len(c.CacheKeys) > 0 {
		keys = fmt.Sprintf("[%d redacted]", len(c.CacheKeys))
	}
	return fmt.Sprintf("gateway.Config{Listen:%q Issuer:%q TokenURL:%q ClientID:%q ClientSecret:%s ClientKey:%s AuthMethod:%q JWKSURL:%q Audiences:%q Routes:%d RedisURL:%s CacheKeys:%s}",
		c.Listen, c.Issuer, c.TokenURL, c.ClientID, redact(c.ClientSecret != ""), redact(c.ClientKey != nil), c.AuthMethod, c.JWKSURL, c.Audiences, len(c.Routes),
		redactRedisURL(c.RedisURL), keys)
}

// GoString is String: %#v must not print a secret either.
func (c Config) GoString() string { return c.String() }

// Format prints String for every verb, so that %+v and %#v never show the
// client secret or key.
func (c Config) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprintf(f, "%q", c.String())
		return
	}
	_, _ = io.WriteString(f, c.String())
}
