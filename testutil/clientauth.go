package testutil

import (
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

// clientAuth is what a token request presented to authenticate its client.
type clientAuth struct {
	clientID  string
	method    string // AuthClientSecretBasic, ..., AuthNone
	secret    string
	assertion string
	err       *oauthError // the request is malformed; answer with this
}

// detectClientAuth finds the client authentication the request presents
// (RFC 6749 §2.3.1, RFC 7523 §2.2) without checking it.
func detectClientAuth(r *http.Request, form url.Values) clientAuth {
	var ca clientAuth
	var methods []string
	authz := r.Header.Values("Authorization")
	if len(authz) > 1 {
		ca.err = invalidRequest("more than one Authorization header")
		return ca
	}
	basic := false
	if len(authz) == 1 {
		scheme, cred, _ := strings.Cut(authz[0], " ")
		if !strings.EqualFold(scheme, "Basic") {
			ca.err = invalidClient(false, "unsupported Authorization scheme %q at the token endpoint", scheme)
			return ca
		}
		basic = true
		methods = append(methods, AuthClientSecretBasic)
		ca.method = AuthClientSecretBasic
		id, secret, err := decodeBasic(strings.TrimSpace(cred))
		if err != "" {
			ca.err = invalidClient(true, "%s", err)
			return ca
		}
		ca.clientID, ca.secret = id, secret
	}
	if _, ok := form["client_secret"]; ok {
		methods = append(methods, AuthClientSecretPost)
		ca.secret, ca.method = form.Get("client_secret"), AuthClientSecretPost
	}
	_, hasAssertion := form["client_assertion"]
	_, hasAssertionType := form["client_assertion_type"]
	if hasAssertion || hasAssertionType {
		methods = append(methods, AuthPrivateKeyJWT)
		ca.assertion, ca.method = form.Get("client_assertion"), AuthPrivateKeyJWT
	}
	if len(methods) > 1 {
		ca.err = invalidRequest("more than one client authentication method (%s)", strings.Join(methods, ", "))
		ca.err.basic = basic
		return ca
	}
	formID := form.Get("client_id")
	switch {
	case ca.method == "":
		ca.method = AuthNone
		ca.clientID = formID
	case ca.method == AuthClientSecretBasic:
		if formID != "" && formID != ca.clientID {
			ca.err = invalidClient(true, "client_id does not match the Basic credentials")
		}
	case ca.method == AuthClientSecretPost:
		ca.clientID = formID
	case ca.method == AuthPrivateKeyJWT:
		ca.clientID = formID
		if ca.clientID == "" && ca.assertion != "" {
			// RFC 7523 §3: the client is the assertion's subject.
			if tok, err := jwt.ParseInsecure([]byte(ca.assertion)); err == nil {
				ca.clientID = tok.Subject()
			}
		}
	}
	return ca
}

// decodeBasic decodes HTTP Basic credentials whose id and secret are
// form-url-encoded, as RFC 6749 §2.3.1 requires.
func decodeBasic(cred string) (id, secret, problem string) {
	raw, err := base64.StdEncoding.DecodeString(cred)
	if err != nil {
		return "", "", "malformed Basic credentials"
	}
	encID, encSecret, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", "malformed Basic credentials"
	}
	if id, err = url.QueryUnescape(encID); err != nil {
		return "", "", "client id in Basic credentials is not form-url-encoded"
	}
	if secret, err = url.QueryUnescape(encSecret); err != nil {
		return "", "", "client secret in Basic credentials is not form-url-encoded"
	}
	return id, secret, ""
}

// authenticate checks the presented credentials against the registered
// client.
func (a *Authority) authenticate(ca clientAuth, form url.Values) (*registeredClient, *oauthError) {
	if ca.err != nil {
		return nil, ca.err
	}
	basic := ca.method == AuthClientSecretBasic
	if ca.clientID == "" {
		return nil, invalidClient(basic, "client authentication required")
	}
	c := a.client(ca.clientID)
	if c == nil {
		return nil, invalidClient(basic, "unknown client %q", ca.clientID)
	}
	if c.AuthMethod != ca.method {
		return nil, invalidClient(basic, "client %q must authenticate with %s, not %s", c.ID, c.AuthMethod, ca.method)
	}
	switch ca.method {
	case AuthClientSecretBasic, AuthClientSecretPost:
		if subtle.ConstantTimeCompare([]byte(c.Secret), []byte(ca.secret)) != 1 {
			return nil, invalidClient(basic, "invalid client secret")
		}
	case AuthPrivateKeyJWT:
		if oerr := a.checkAssertion(c, form.Get("client_assertion_type"), ca.assertion); oerr != nil {
			return nil, oerr
		}
	}
	return c, nil
}

// checkAssertion verifies a private_key_jwt client assertion (RFC 7523 §3).
func (a *Authority) checkAssertion(c *registeredClient, typ, assertion string) *oauthError {
	if typ != ClientAssertionTypeJWTBearer {
		return invalidClient(false, "client_assertion_type must be %s", ClientAssertionTypeJWTBearer)
	}
	if assertion == "" {
		return invalidClient(false, "missing client_assertion")
	}
	tok, err := jwt.Parse([]byte(assertion),
		jwt.WithKeySet(c.keys, jws.WithRequireKid(false), jws.WithInferAlgorithmFromKey(true)),
		jwt.WithValidate(false))
	if err != nil {
		return invalidClient(false, "client assertion signature verification failed")
	}
	if oerr := checkAssertionHeader(c, assertion); oerr != nil {
		return oerr
	}
	if tok.Issuer() != c.ID || tok.Subject() != c.ID {
		return invalidClient(false, "client assertion iss and sub must both be the client ID")
	}
	if !slices.ContainsFunc(tok.Audience(), a.assertionAudience) {
		return invalidClient(false, "client assertion aud must contain the issuer or the endpoint's URL")
	}
	now := a.now()
	exp := tok.Expiration()
	if exp.IsZero() {
		return invalidClient(false, "client assertion has no exp")
	}
	if !now.Before(exp) {
		return invalidClient(false, "client assertion expired")
	}
	if nbf := tok.NotBefore(); !nbf.IsZero() && now.Add(time.Minute).Before(nbf) {
		return invalidClient(false, "client assertion not yet valid (nbf)")
	}
	jti := tok.JwtID()
	if jti == "" {
		return invalidClient(false, "client assertion has no jti")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	key := c.ID + "\x00" + jti
	if _, seen := a.jtis[key]; seen {
		return invalidClient(false, "client assertion jti already used")
	}
	if len(a.jtis) > 10000 {
		for k, e := range a.jtis {
			if now.After(e) {
				delete(a.jtis, k)
			}
		}
	}
	a.jtis[key] = exp
	return nil
}

// checkAssertionHeader checks the header of a verified client assertion
// against the registration: a kid, when present, must be the client's
// KeyID (when it has one), and a client with a Certificate must be named
// by its x5t#S256 thumbprint.
func checkAssertionHeader(c *registeredClient, assertion string) *oauthError {
	msg, err := jws.Parse([]byte(assertion))
	if err != nil || len(msg.Signatures()) != 1 {
		return invalidClient(false, "client assertion is not a compact JWS")
	}
	h := msg.Signatures()[0].ProtectedHeaders()
	if kid := h.KeyID(); kid != "" && c.KeyID != "" && kid != c.KeyID {
		return invalidClient(false, "client assertion kid %q is not the client's key", kid)
	}
	if c.x5tS256 != "" && h.X509CertThumbprintS256() != c.x5tS256 {
		return invalidClient(false, "client assertion x5t#S256 does not name the client's certificate")
	}
	return nil
}
