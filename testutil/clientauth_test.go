package testutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// assertionKey returns a fresh ES256 private key for private_key_jwt.
func assertionKey(t *testing.T) jwk.Key {
	t.Helper()
	raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	k, err := jwk.FromRaw(raw)
	require.NoError(t, err)
	return k
}

// assertion builds an RFC 7523 client assertion; mutate adjusts claims.
func assertion(t *testing.T, key jwk.Key, clientID, aud string, mutate func(jwt.Token)) string {
	t.Helper()
	tok, err := jwt.NewBuilder().
		Issuer(clientID).Subject(clientID).Audience([]string{aud}).
		Expiration(time.Now().Add(time.Minute)).IssuedAt(time.Now()).
		JwtID(randomID(8)).Build()
	require.NoError(t, err)
	if mutate != nil {
		mutate(tok)
	}
	b, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256, key))
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
