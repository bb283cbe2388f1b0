package authority

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
)

// authenticate adds the client's credentials to the token request, by the
// method resolved for this client.
func (c *Client) authenticate(req *http.Request, form url.Values, ep *endpoint) error {
	switch ep.method {
	case AuthClientSecretBasic:
		// RFC 6749 §2.3.1: both are form-encoded before Basic encoding.
		req.SetBasicAuth(url.QueryEscape(c.cfg.ClientID), url.QueryEscape(c.cfg.ClientSecret))
	case AuthClientSecretPost:
		form.Set("client_id", c.cfg.ClientID)
		form.Set("client_secret", c.cfg.ClientSecret)
	case AuthPrivateKeyJWT:
		assertion, err := c.clientAssertion(ep.meta.TokenEndpoint)
		if err != nil {
			return err
		}
		form.Set("client_id", c.cfg.ClientID)
		form.Set("client_assertion_type", clientAssertionType)
		form.Set("client_assertion", assertion)
	case AuthNone:
		form.Set("client_id", c.cfg.ClientID)
	default:
		return fmt.Errorf("authority: unknown client authentication method %q", ep.method)
	}
	return nil
}

// assertionClaims are the claims of an RFC 7523 §3 client assertion.
type assertionClaims struct {
	Issuer     string   `json:"iss"`
	Subject    string   `json:"sub"`
	Audience   []string `json:"aud"`
	JWTID      string   `json:"jti"`
	IssuedAt   int64    `json:"iat"`
	Expiration int64    `json:"exp"`
}

// clientAssertion builds the RFC 7523 §3 client assertion: issuer and
// subject are the client, the audience is the token endpoint, with a fresh
// jti and a short lifetime, signed with Config.Signer.
func (c *Client) clientAssertion(tokenEndpoint string) (string, error) {
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", fmt.Errorf("authority: client assertion: %w", err)
	}
	now := c.now()
	signed, err := c.assertions.sign(assertionClaims{
		Issuer:     c.cfg.ClientID,
		Subject:    c.cfg.ClientID,
		Audience:   []string{tokenEndpoint},
		JWTID:      hex.EncodeToString(jti[:]),
		IssuedAt:   now.Unix(),
		Expiration: now.Add(c.cfg.AssertionLifetime).Unix(),
	})
	if err != nil {
		return "", fmt.Errorf("authority: signing client assertion: %w", err)
	}
	return signed, nil
}
