package exchange_test

import (
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/go-tokenexchange/tokenexchange/authority"
)

// parseInsecure returns the sub claim of an issued JWT, without verifying
// it; safe to call from any goroutine (no testing.TB).
func parseInsecure(tok *authority.Token) (string, error) {
	parsed, err := jwt.ParseInsecure([]byte(tok.AccessToken))
	if err != nil {
		return "", err
	}
	return parsed.Subject(), nil
}
