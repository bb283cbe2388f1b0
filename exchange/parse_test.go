package exchange_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"

	"github.com/go-tokenexchange/tokenexchange/authority"
)

// parseInsecure returns the sub claim of an issued JWT, without verifying
// it; safe to call from any goroutine (no testing.TB). It decodes only the
// payload, much cheaper than a full JWT parse in the many-subject tests.
func parseInsecure(tok *authority.Token) (string, error) {
	parts := strings.Split(tok.AccessToken, ".")
	if len(parts) != 3 {
		return "", errors.New("not a JWS compact serialization")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", err
	}
	var claims struct {
		Sub string `json:"sub"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return "", err
	}
	return claims.Sub, nil
}
