package testutil

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// assertionKey returns a fresh ES256 private key for private_key_jwt.
func assertionKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	return k
}

// assertion builds an RFC 7523 client assertion; mutate adjusts claims.
func assertion(t *testing.T, key crypto.Signer, clientID, aud string, mutate func(jwt.Token)) string {
	t.Helper()
	return assertionWithHeader(t, key, nil, clientID, aud, mutate)
}

// assertionWithHeader is assertion with extra protected header fields.
func assertionWithHeader(t *testing.T, key crypto.Signer, header map[string]any, clientID, aud string, mutate func(jwt.Token)) string {
	t.Helper()
	tok, err := jwt.NewBuilder().
		Issuer(clientID).Subject(clientID).Audience([]string{aud}).
		Expiration(time.Now().Add(time.Minute)).IssuedAt(time.Now()).
		JwtID(randomID(8)).Build()
	require.NoError(t, err)
	if mutate != nil {
		mutate(tok)
	}
	hdr := jws.NewHeaders()
	for k, v := range header {
		require.NoError(t, hdr.Set(k, v))
	}
	priv, err := jwk.FromRaw(key)
	require.NoError(t, err)
	b, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256, priv, jws.WithProtectedHeaders(hdr)))
	require.NoError(t, err)
	return string(b)
}

func TestClientAuthentication(t *testing.T) {
	a := NewAuthority(t, Options{})
	key := assertionKey(t)
	otherKey := assertionKey(t)
	a.AddClient(Client{ID: "basic client", Secret: "s3cr:et+/%"})
	a.AddClient(Client{ID: "post", Secret: "ps", AuthMethod: AuthClientSecretPost})
	a.AddClient(Client{ID: "jwt", AuthMethod: AuthPrivateKeyJWT, PublicKey: key})
	a.AddClient(Client{ID: "public", AuthMethod: AuthNone})

	reused := assertion(t, key, "jwt", a.TokenURL(), nil)
	cc := func(kv ...string) url.Values {
		return form(append([]string{"grant_type", GrantPassword, "username", "u", "password", "p"}, kv...)...)
	}
	a.AddUser("u", "p")
	assertionForm := func(as string) url.Values {
		return cc("client_assertion_type", ClientAssertionTypeJWTBearer, "client_assertion", as)
	}

	tests := []struct {
		name      string
		form      url.Values
		opts      []reqOpt
		status    int
		code      string
		challenge bool
	}{
		{name: "basic with form-url-encoded credentials", form: cc(), opts: []reqOpt{withBasic("basic client", "s3cr:et+/%")}},
		{name: "basic wrong secret", form: cc(), opts: []reqOpt{withBasic("basic client", "nope")}, status: 401, code: "invalid_client", challenge: true},
		{name: "basic unknown client", form: cc(), opts: []reqOpt{withBasic("ghost", "x")}, status: 401, code: "invalid_client", challenge: true},
		{name: "basic not url-encoded", form: cc(), opts: []reqOpt{func(r *http.Request) { r.SetBasicAuth("basic client", "s3cr:et+/%") }}, status: 401, code: "invalid_client", challenge: true},
		{name: "basic client_id mismatch", form: cc("client_id", "post"), opts: []reqOpt{withBasic("basic client", "s3cr:et+/%")}, status: 401, code: "invalid_client", challenge: true},
		{name: "basic client using post", form: cc("client_id", "basic client", "client_secret", "s3cr:et+/%"), status: 401, code: "invalid_client"},
		{name: "post", form: cc("client_id", "post", "client_secret", "ps")},
		{name: "post wrong secret", form: cc("client_id", "post", "client_secret", "x"), status: 401, code: "invalid_client"},
		{name: "post client using basic", form: cc(), opts: []reqOpt{withBasic("post", "ps")}, status: 401, code: "invalid_client", challenge: true},
		{name: "two methods", form: cc("client_id", "post", "client_secret", "ps"), opts: []reqOpt{withBasic("post", "ps")}, status: 400, code: "invalid_request", challenge: true},
		{name: "bearer scheme", form: cc(), opts: []reqOpt{func(r *http.Request) { r.Header.Set("Authorization", "Bearer x") }}, status: 401, code: "invalid_client"},
		{name: "two Authorization headers", form: cc(), opts: []reqOpt{withBasic("post", "ps"), func(r *http.Request) { r.Header.Add("Authorization", "Basic eA==") }}, status: 400, code: "invalid_request"},
		{name: "no credentials", form: cc(), status: 401, code: "invalid_client"},
		{name: "public client", form: cc("client_id", "public")},
		{name: "confidential client without secret", form: cc("client_id", "post"), status: 401, code: "invalid_client"},
		{name: "private_key_jwt token endpoint aud", form: assertionForm(reused)},
		{name: "private_key_jwt issuer aud, client_id from form", form: func() url.Values {
			f := assertionForm(assertion(t, key, "jwt", a.Issuer(), nil))
			f.Set("client_id", "jwt")
			return f
		}()},
		{name: "private_key_jwt jti reused", form: assertionForm(reused), status: 401, code: "invalid_client"},
		{name: "private_key_jwt wrong key", form: assertionForm(assertion(t, otherKey, "jwt", a.TokenURL(), nil)), status: 401, code: "invalid_client"},
		{name: "private_key_jwt wrong aud", form: assertionForm(assertion(t, key, "jwt", "https://elsewhere", nil)), status: 401, code: "invalid_client"},
		{name: "private_key_jwt expired", form: assertionForm(assertion(t, key, "jwt", a.TokenURL(), func(tok jwt.Token) {
			_ = tok.Set(jwt.ExpirationKey, time.Now().Add(-time.Minute))
		})), status: 401, code: "invalid_client"},
		{name: "private_key_jwt no jti", form: assertionForm(assertion(t, key, "jwt", a.TokenURL(), func(tok jwt.Token) {
			_ = tok.Remove(jwt.JwtIDKey)
		})), status: 401, code: "invalid_client"},
		{name: "private_key_jwt iss differs from sub", form: assertionForm(assertion(t, key, "jwt", a.TokenURL(), func(tok jwt.Token) {
			_ = tok.Set(jwt.IssuerKey, "public")
		})), status: 401, code: "invalid_client"},
		{name: "private_key_jwt wrong assertion type", form: cc("client_assertion_type", "urn:other", "client_assertion", assertion(t, key, "jwt", a.TokenURL(), nil)), status: 401, code: "invalid_client"},
		{name: "private_key_jwt plus secret", form: func() url.Values {
			f := assertionForm(assertion(t, key, "jwt", a.TokenURL(), nil))
			f.Set("client_secret", "x")
			return f
		}(), status: 400, code: "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := postToken(t, a, tt.form, tt.opts...)
			if tt.code == "" {
				requireToken(t, r)
				return
			}
			requireError(t, r, tt.status, tt.code)
			assert.NotEmpty(t, r.str("error_description"))
			if tt.challenge {
				assert.Contains(t, r.header.Get("WWW-Authenticate"), "Basic")
			} else {
				assert.Empty(t, r.header.Get("WWW-Authenticate"))
			}
		})
	}
	methods := map[string]int{}
	for _, req := range a.Requests() {
		methods[req.AuthMethod]++
	}
	assert.Positive(t, methods[AuthPrivateKeyJWT])
	assert.Positive(t, methods[AuthNone])
}

// selfSigned returns a certificate for key, as a client registers one at
// Entra ID.
func selfSigned(t *testing.T, key crypto.Signer) *x509.Certificate {
	t.Helper()
	cert, err := SelfSignedCertificate(key, "client")
	require.NoError(t, err)
	return cert
}

// TestClientAssertionHeader: a client registered with a KeyID refuses an
// assertion naming another kid, and one registered with a Certificate
// refuses an assertion that does not carry its x5t#S256 thumbprint.
func TestClientAssertionHeader(t *testing.T) {
	a := NewAuthority(t, Options{})
	key := assertionKey(t)
	cert := selfSigned(t, key)
	sum := sha256.Sum256(cert.Raw)
	thumb := base64.RawURLEncoding.EncodeToString(sum[:])
	otherSum := sha256.Sum256(selfSigned(t, key).Raw) // same key, another certificate
	a.AddClient(Client{ID: "kid", AuthMethod: AuthPrivateKeyJWT, PublicKey: key.Public(), KeyID: "k1"})
	a.AddClient(Client{ID: "cert", AuthMethod: AuthPrivateKeyJWT, Certificate: cert})
	a.AddClient(Client{ID: "nokid", AuthMethod: AuthPrivateKeyJWT, PublicKey: key})
	tests := []struct {
		name   string
		client string
		header map[string]any
		ok     bool
	}{
		{"registered kid", "kid", map[string]any{"kid": "k1"}, true},
		{"no kid", "kid", nil, true},
		{"another kid", "kid", map[string]any{"kid": "k2"}, false},
		{"any kid when none is registered", "nokid", map[string]any{"kid": "whatever"}, true},
		{"certificate thumbprint", "cert", map[string]any{"x5t#S256": thumb}, true},
		{"no thumbprint", "cert", nil, false},
		{"another certificate's thumbprint", "cert", map[string]any{"x5t#S256": base64.RawURLEncoding.EncodeToString(otherSum[:])}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := form("grant_type", GrantClientCredentials, "client_id", tt.client,
				"client_assertion_type", ClientAssertionTypeJWTBearer,
				"client_assertion", assertionWithHeader(t, key, tt.header, tt.client, a.TokenURL(), nil))
			r := postToken(t, a, form)
			if tt.ok {
				requireToken(t, r)
				return
			}
			requireError(t, r, http.StatusUnauthorized, "invalid_client")
		})
	}
}

// TestAddClientKeys: AddClient takes a public key, a private key or a
// certificate, and panics on anything else.
func TestAddClientKeys(t *testing.T) {
	a := NewAuthority(t, Options{})
	key := assertionKey(t)
	jwkKey, err := jwk.FromRaw(key)
	require.NoError(t, err)
	cert := selfSigned(t, key)
	sum := sha256.Sum256(cert.Raw)
	for _, tt := range []struct {
		name   string
		client Client
		header map[string]any
		panics string
	}{
		{name: "public key", client: Client{PublicKey: key.Public()}},
		{name: "private key", client: Client{PublicKey: key}},
		{name: "certificate", client: Client{Certificate: cert}, header: map[string]any{"x5t#S256": base64.RawURLEncoding.EncodeToString(sum[:])}},
		{name: "nothing", client: Client{}, panics: "needs PublicKey or Certificate"},
		{name: "a JWK", client: Client{PublicKey: jwkKey}, panics: "want *rsa.PublicKey"},
		{name: "another key's certificate", client: Client{PublicKey: key, Certificate: selfSigned(t, assertionKey(t))}, panics: "not PublicKey"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.client
			c.ID, c.AuthMethod = "c", AuthPrivateKeyJWT
			add := func() { a.AddClient(c) }
			if tt.panics == "" {
				require.NotPanics(t, add)
				requireToken(t, postToken(t, a, form("grant_type", GrantClientCredentials, "client_id", "c",
					"client_assertion_type", ClientAssertionTypeJWTBearer,
					"client_assertion", assertionWithHeader(t, key, tt.header, "c", a.TokenURL(), nil))))
				return
			}
			defer func() {
				r := recover()
				require.NotNil(t, r)
				assert.Contains(t, fmt.Sprint(r), tt.panics)
			}()
			add()
		})
	}
}
