package jwt_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/middleware/jwt"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

const testIssuer = "https://issuer.example"

// pubJWK is the public JWK of priv with kid (if not empty) and alg (if not empty).
func pubJWK(t testing.TB, priv any, kid string, alg jwa.SignatureAlgorithm) jwk.Key {
	t.Helper()
	k, err := jwk.FromRaw(priv)
	require.NoError(t, err)
	pub, err := k.PublicKey()
	require.NoError(t, err)
	if kid != "" {
		require.NoError(t, pub.Set(jwk.KeyIDKey, kid))
	}
	if alg != "" {
		require.NoError(t, pub.Set(jwk.AlgorithmKey, alg))
	}
	return pub
}

// serveKeys publishes keys as a JWKS and returns its URL and request counter.
func serveKeys(t testing.TB, keys ...jwk.Key) (string, *atomic.Int32) {
	t.Helper()
	set := jwk.NewSet()
	for _, k := range keys {
		require.NoError(t, set.AddKey(k))
	}
	body, err := json.Marshal(set)
	require.NoError(t, err)
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &n
}

// signer signs with priv under alg.
func signer(t testing.TB, alg jwa.SignatureAlgorithm, priv any) func([]byte) []byte {
	return func(in []byte) []byte {
		s, err := jws.NewSigner(alg)
		require.NoError(t, err)
		sig, err := s.Sign(in, priv)
		require.NoError(t, err)
		return sig
	}
}

func rsaKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	return k
}

func staticValidator(t testing.TB, url string, cfg jwt.Config) *jwt.Validator {
	t.Helper()
	cfg.Issuer, cfg.JWKSURL, cfg.Audience = testIssuer, url, []string{"api"}
	if cfg.MinRefetchInterval == 0 {
		cfg.MinRefetchInterval = time.Hour
	}
	v, err := jwt.New(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(v.Close)
	return v
}

func goodClaims() map[string]any {
	return map[string]any{"iss": testIssuer, "aud": "api", "sub": "alice", "exp": time.Now().Add(time.Hour).Unix()}
}

// Header parameters that carry or point to a key are never trusted: a token
// signed by the attacker's own key is refused, and the attacker's URLs are
// never fetched.
func TestAttackerSuppliedKeys(t *testing.T) {
	a, v, _ := newValidator(t, jwt.Config{MinRefetchInterval: time.Hour})
	kid, _ := firstKey(t, a)
	evil := rsaKey(t)
	evilJWK := pubJWK(t, evil, "evil", jwa.RS256)
	evilURL, hits := serveKeys(t, evilJWK)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "evil"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &evil.PublicKey, evil)
	require.NoError(t, err)
	x5c := []string{base64.StdEncoding.EncodeToString(der)}

	for name, hdr := range map[string]map[string]any{
		"jwk, no kid":         {"jwk": evilJWK},
		"jwk, evil kid":       {"jwk": evilJWK, "kid": "evil"},
		"jwk, authority kid":  {"jwk": evilJWK, "kid": kid},
		"jku, evil kid":       {"jku": evilURL, "kid": "evil"},
		"jku, authority kid":  {"jku": evilURL, "kid": kid},
		"x5u, evil kid":       {"x5u": evilURL + "/cert.pem", "kid": "evil"},
		"x5c, no kid":         {"x5c": x5c},
		"x5c, authority kid":  {"x5c": x5c, "kid": kid},
		"jku, jwk, x5u & x5c": {"jku": evilURL, "jwk": evilJWK, "x5u": evilURL, "x5c": x5c},
	} {
		t.Run(name, func(t *testing.T) {
			hdr["alg"] = "RS256"
			claims := goodClaims()
			claims["iss"] = a.Issuer()
			_, err := v.Validate(context.Background(), sub(craft(t, hdr, claims, signer(t, jwa.RS256, evil))))
			require.Error(t, err)
			assert.True(t, errors.Is(err, middleware.ErrUnknownKey) || errors.Is(err, middleware.ErrInvalidSignature), "%v", err)
		})
	}
	assert.Zero(t, hits.Load(), "an attacker's key URL was fetched")
}

// A token without kid is accepted only when exactly one key of the set can
// verify its alg.
func TestEmptyKid(t *testing.T) {
	k1, k2 := rsaKey(t), rsaKey(t)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)

	url, _ := serveKeys(t, pubJWK(t, k1, "k1", ""), pubJWK(t, k2, "k2", ""), pubJWK(t, ec, "e1", ""))
	v := staticValidator(t, url, jwt.Config{})
	_, err = v.Validate(context.Background(), sub(craft(t, map[string]any{"alg": "RS256"}, goodClaims(), signer(t, jwa.RS256, k1))))
	require.ErrorIs(t, err, middleware.ErrUnknownKey, "two RSA keys: ambiguous")
	_, err = v.Validate(context.Background(), sub(craft(t, map[string]any{"alg": "RS256", "kid": "k1"}, goodClaims(), signer(t, jwa.RS256, k1))))
	require.NoError(t, err)
	_, err = v.Validate(context.Background(), sub(craft(t, map[string]any{"alg": "ES256"}, goodClaims(), signer(t, jwa.ES256, ec))))
	require.NoError(t, err, "one usable EC key")

	// Keys restricted to another alg do not count.
	url, _ = serveKeys(t, pubJWK(t, k1, "k1", jwa.RS256), pubJWK(t, k2, "k2", jwa.PS256))
	v = staticValidator(t, url, jwt.Config{})
	_, err = v.Validate(context.Background(), sub(craft(t, map[string]any{"alg": "RS256"}, goodClaims(), signer(t, jwa.RS256, k1))))
	require.NoError(t, err)
}

// Several keys under one kid (a rotation, or one key per alg): each usable key
// is tried.
func TestDuplicateKid(t *testing.T) {
	k1, k2, other := rsaKey(t), rsaKey(t), rsaKey(t)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	url, _ := serveKeys(t, pubJWK(t, k1, "k", jwa.RS256), pubJWK(t, k2, "k", ""), pubJWK(t, ec, "k", jwa.ES256))
	v := staticValidator(t, url, jwt.Config{})
	hdr := func(alg string) map[string]any { return map[string]any{"alg": alg, "kid": "k"} }

	_, err = v.Validate(context.Background(), sub(craft(t, hdr("RS256"), goodClaims(), signer(t, jwa.RS256, k1))))
	require.NoError(t, err, "first key")
	_, err = v.Validate(context.Background(), sub(craft(t, hdr("RS256"), goodClaims(), signer(t, jwa.RS256, k2))))
	require.NoError(t, err, "second key")
	_, err = v.Validate(context.Background(), sub(craft(t, hdr("ES256"), goodClaims(), signer(t, jwa.ES256, ec))))
	require.NoError(t, err, "EC key")
	_, err = v.Validate(context.Background(), sub(craft(t, hdr("PS256"), goodClaims(), signer(t, jwa.PS256, k2))))
	require.NoError(t, err, "k2 has no alg: any RSA alg")
	_, err = v.Validate(context.Background(), sub(craft(t, hdr("PS256"), goodClaims(), signer(t, jwa.PS256, k1))))
	require.ErrorIs(t, err, middleware.ErrInvalidSignature, "k1 is for RS256 only")
	_, err = v.Validate(context.Background(), sub(craft(t, hdr("RS256"), goodClaims(), signer(t, jwa.RS256, other))))
	require.ErrorIs(t, err, middleware.ErrInvalidSignature)
}

// exp, nbf and iat against a fake clock shared by the authority and the validator.
func TestTimeClaimsLeeway(t *testing.T) {
	t0 := time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
	clock := testutil.NewClock(t0)
	a := testutil.NewAuthority(t, testutil.Options{Now: clock.Now})
	newV := func(leeway time.Duration) *jwt.Validator {
		v, err := jwt.New(context.Background(), jwt.Config{
			Issuer: a.Issuer(), Audience: []string{"api"}, HTTPClient: a.Client(), Now: clock.Now, Leeway: leeway,
		})
		require.NoError(t, err)
		t.Cleanup(v.Close)
		return v
	}
	v := newV(0) // DefaultLeeway, 30s
	issue := func(c testutil.TokenClaims) string {
		c.Audience = []string{"api"}
		return a.IssueToken(c)
	}
	sec := time.Second
	for _, tc := range []struct {
		name    string
		claims  testutil.TokenClaims
		wantErr error
	}{
		{"fresh", testutil.TokenClaims{}, nil},
		{"nbf inside leeway", testutil.TokenClaims{Extra: map[string]any{"nbf": t0.Add(20 * sec).Unix()}}, nil},
		{"nbf outside leeway", testutil.TokenClaims{Extra: map[string]any{"nbf": t0.Add(40 * sec).Unix()}}, middleware.ErrNotYetValid},
		{"iat inside leeway", testutil.TokenClaims{IssuedAt: t0.Add(20 * sec)}, nil},
		{"iat outside leeway", testutil.TokenClaims{IssuedAt: t0.Add(40 * sec)}, middleware.ErrNotYetValid},
		{"exp inside leeway", testutil.TokenClaims{IssuedAt: t0.Add(-time.Hour), Expiry: t0.Add(-20 * sec)}, nil},
		{"exp outside leeway", testutil.TokenClaims{IssuedAt: t0.Add(-time.Hour), Expiry: t0.Add(-40 * sec)}, middleware.ErrExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Validate(context.Background(), sub(issue(tc.claims)))
			if tc.wantErr == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, tc.wantErr)
			}
		})
	}

	// The validator follows the clock, not time.Now.
	tok := issue(testutil.TokenClaims{Expiry: t0.Add(time.Hour)})
	_, err := v.Validate(context.Background(), sub(tok))
	require.NoError(t, err)
	clock.Advance(time.Hour + 29*sec)
	_, err = v.Validate(context.Background(), sub(tok))
	require.NoError(t, err, "within leeway")
	clock.Advance(2 * sec)
	_, err = v.Validate(context.Background(), sub(tok))
	require.ErrorIs(t, err, middleware.ErrExpired)

	// A negative Leeway means none: exp is exclusive, nbf and iat exact.
	clock.Set(t0)
	strict := newV(-1)
	atExp := issue(testutil.TokenClaims{IssuedAt: t0.Add(-time.Hour), Expiry: t0})
	_, err = strict.Validate(context.Background(), sub(atExp))
	require.ErrorIs(t, err, middleware.ErrExpired)
	_, err = v.Validate(context.Background(), sub(atExp))
	require.NoError(t, err)
	_, err = strict.Validate(context.Background(), sub(issue(testutil.TokenClaims{IssuedAt: t0.Add(sec)})))
	require.ErrorIs(t, err, middleware.ErrNotYetValid)
	_, err = strict.Validate(context.Background(), sub(issue(testutil.TokenClaims{Extra: map[string]any{"nbf": t0.Unix()}})))
	require.NoError(t, err)
}

func TestTypes(t *testing.T) {
	k := rsaKey(t)
	url, _ := serveKeys(t, pubJWK(t, k, "k", ""))
	tok := func(typ string) string {
		hdr := map[string]any{"alg": "RS256", "kid": "k"}
		if typ != "" {
			hdr["typ"] = typ
		}
		return craft(t, hdr, goodClaims(), signer(t, jwa.RS256, k))
	}

	unchecked := staticValidator(t, url, jwt.Config{})
	for _, typ := range []string{"", "JWT", "at+jwt", "whatever"} {
		_, err := unchecked.Validate(context.Background(), sub(tok(typ)))
		require.NoError(t, err, "no Types: %q", typ)
	}

	v := staticValidator(t, url, jwt.Config{Types: []string{"at+jwt"}})
	for _, typ := range []string{"at+jwt", "AT+JWT", "application/at+jwt", "Application/At+JWT"} {
		_, err := v.Validate(context.Background(), sub(tok(typ)))
		require.NoError(t, err, typ)
	}
	for _, typ := range []string{"", "JWT", "ID", "application/jwt", "at+jwt "} {
		_, err := v.Validate(context.Background(), sub(tok(typ)))
		require.ErrorIs(t, err, middleware.ErrInvalidType, "%q", typ)
		var e *middleware.Error
		require.ErrorAs(t, err, &e)
		assert.Equal(t, "token type not accepted", e.Description)
		assert.Equal(t, http.StatusUnauthorized, e.Status)
	}
	// The header is checked only once the signature verifies.
	_, err := v.Validate(context.Background(), sub(tamper(tok("JWT"))))
	require.ErrorIs(t, err, middleware.ErrInvalidSignature)

	_, err = jwt.New(context.Background(), jwt.Config{Issuer: testIssuer, JWKSURL: url, Audience: []string{"api"}, Types: []string{""}})
	require.Error(t, err)
}

// CheckClaims refuses Keycloak ID tokens by their "typ" claim.
func TestCheckClaims(t *testing.T) {
	k := rsaKey(t)
	url, _ := serveKeys(t, pubJWK(t, k, "k", ""))
	errNotAccess := errors.New("typ claim is not Bearer")
	var calls atomic.Int32
	v := staticValidator(t, url, jwt.Config{CheckClaims: func(ctx context.Context, c *middleware.Claims) error {
		calls.Add(1)
		if ctx.Value(ctxKey{}) != "request" {
			t.Error("CheckClaims did not get the request's context")
		}
		var kc struct {
			Typ string `json:"typ"`
		}
		if err := c.Decode(&kc); err != nil {
			return err
		}
		switch kc.Typ {
		case "Bearer":
			return nil
		case "Forbidden":
			return &middleware.Error{Code: middleware.CodeInsufficientScope, Description: "custom", Status: http.StatusForbidden, Err: middleware.ErrInsufficientScope}
		}
		return errNotAccess
	}})
	tok := func(typ string, exp time.Duration) string {
		c := goodClaims()
		c["typ"] = typ
		c["exp"] = time.Now().Add(exp).Unix()
		return craft(t, map[string]any{"alg": "RS256", "kid": "k", "typ": "JWT"}, c, signer(t, jwa.RS256, k))
	}

	reqCtx := context.WithValue(context.Background(), ctxKey{}, "request")
	_, err := v.Validate(reqCtx, sub(tok("Bearer", time.Hour)))
	require.NoError(t, err)

	_, err = v.Validate(reqCtx, sub(tok("ID", time.Hour)))
	require.ErrorIs(t, err, middleware.ErrRejected)
	require.ErrorIs(t, err, errNotAccess)
	var e *middleware.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, middleware.CodeInvalidToken, e.Code)
	assert.Equal(t, http.StatusUnauthorized, e.Status)
	assert.Equal(t, "token rejected by policy", e.Description)
	assert.NotContains(t, e.Error(), errNotAccess.Error(), "the hook's text is not on the wire")

	_, err = v.Validate(reqCtx, sub(tok("Forbidden", time.Hour)))
	require.ErrorAs(t, err, &e)
	assert.Equal(t, http.StatusForbidden, e.Status)
	assert.Equal(t, "custom", e.Description)

	n := calls.Load()
	_, err = v.Validate(reqCtx, sub(tok("Bearer", -time.Hour)))
	require.ErrorIs(t, err, middleware.ErrExpired)
	assert.Equal(t, n, calls.Load(), "not called when a built-in check fails")
}

// Algorithms no key is ever used with are refused at construction, not by
// refusing every token later.
func TestUnsupportedAlgorithms(t *testing.T) {
	url, _ := serveKeys(t, pubJWK(t, rsaKey(t), "k", ""))
	for _, alg := range []jwt.Algorithm{"ES256K", "RS1", "X-CUSTOM"} {
		_, err := jwt.New(context.Background(), jwt.Config{
			Issuer: testIssuer, JWKSURL: url, Audience: []string{"api"}, Algorithms: []jwt.Algorithm{jwt.RS256, alg},
		})
		require.Error(t, err, alg)
		assert.Contains(t, err.Error(), string(alg))
	}
	for _, alg := range jwt.DefaultAlgorithms() {
		v, err := jwt.New(context.Background(), jwt.Config{
			Issuer: testIssuer, JWKSURL: url, Audience: []string{"api"}, Algorithms: []jwt.Algorithm{alg},
		})
		require.NoError(t, err, alg)
		v.Close()
	}
}
