package jwt_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
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

// craft builds a compact JWS from a header and claims, signed by sign.
func craft(t testing.TB, header, claims map[string]any, sign func(input []byte) []byte) string {
	t.Helper()
	c, err := json.Marshal(claims)
	require.NoError(t, err)
	return craftRaw(t, header, c, sign)
}

// craftRaw is craft with the payload given as bytes.
func craftRaw(t testing.TB, header map[string]any, payload []byte, sign func(input []byte) []byte) string {
	t.Helper()
	h, err := json.Marshal(header)
	require.NoError(t, err)
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(payload)
	return input + "." + base64.RawURLEncoding.EncodeToString(sign([]byte(input)))
}

// firstKey reads the first key of the authority's published JWK Set.
func firstKey(t *testing.T, a *testutil.Authority) (kid string, pub *rsa.PublicKey) {
	t.Helper()
	keys := a.PublicKeys()
	require.NotEmpty(t, keys)
	pub, ok := keys[0].Key.(*rsa.PublicKey)
	require.True(t, ok, "%T", keys[0].Key)
	return keys[0].KeyID, pub
}

func TestValidate(t *testing.T) {
	now := time.Now()
	a, v, _ := newValidator(t, jwt.Config{})
	kid, pub := firstKey(t, a)
	goodClaims := func() map[string]any {
		return map[string]any{"iss": a.Issuer(), "aud": "api", "sub": "alice", "exp": now.Add(time.Hour).Unix()}
	}
	pemBytes := func() []byte {
		der, err := x509.MarshalPKIXPublicKey(pub)
		require.NoError(t, err)
		return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	}
	hs256 := func(secret []byte) func([]byte) []byte {
		return func(in []byte) []byte {
			m := hmac.New(sha256.New, secret)
			m.Write(in)
			return m.Sum(nil)
		}
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)

	tests := []struct {
		name    string
		token   string
		wantErr error
		desc    string
	}{
		{name: "good", token: a.IssueToken(testutil.TokenClaims{Subject: "alice", Audience: []string{"api"}})},
		{name: "one of several audiences", token: a.IssueToken(testutil.TokenClaims{Subject: "alice", Audience: []string{"other", "api"}})},
		{name: "expired within leeway", token: a.IssueToken(testutil.TokenClaims{Audience: []string{"api"}, IssuedAt: now.Add(-time.Hour), Expiry: now.Add(-10 * time.Second)})},
		{name: "expired", token: a.IssueToken(testutil.TokenClaims{Audience: []string{"api"}, IssuedAt: now.Add(-time.Hour), Expiry: now.Add(-time.Minute)}), wantErr: middleware.ErrExpired, desc: "token expired"},
		{name: "not yet valid", token: a.IssueToken(testutil.TokenClaims{Audience: []string{"api"}, Extra: map[string]any{"nbf": now.Add(time.Hour).Unix()}}), wantErr: middleware.ErrNotYetValid},
		{name: "issued in the future", token: a.IssueToken(testutil.TokenClaims{Audience: []string{"api"}, IssuedAt: now.Add(time.Hour), Expiry: now.Add(2 * time.Hour)}), wantErr: middleware.ErrNotYetValid},
		{name: "wrong issuer", token: a.IssueToken(testutil.TokenClaims{Audience: []string{"api"}, Extra: map[string]any{"iss": "https://evil.example"}}), wantErr: middleware.ErrInvalidIssuer, desc: "issuer mismatch"},
		{name: "wrong audience", token: a.IssueToken(testutil.TokenClaims{Audience: []string{"billing"}}), wantErr: middleware.ErrInvalidAudience, desc: "audience mismatch"},
		{name: "no audience", token: a.IssueToken(testutil.TokenClaims{}), wantErr: middleware.ErrMissingClaim},
		{name: "forged signature", token: craft(t, map[string]any{"alg": "RS256", "kid": kid}, map[string]any{"iss": a.Issuer(), "aud": "api"}, func([]byte) []byte { return []byte("x") }), wantErr: middleware.ErrInvalidSignature},
		{name: "alg none", token: craft(t, map[string]any{"alg": "none", "kid": kid}, goodClaims(), func([]byte) []byte { return nil }), wantErr: middleware.ErrUnsupportedAlgorithm, desc: "signing algorithm not allowed"},
		{name: "alg None", token: craft(t, map[string]any{"alg": "None"}, goodClaims(), func([]byte) []byte { return nil }), wantErr: middleware.ErrUnsupportedAlgorithm},
		{name: "HMAC with the public key as secret (PEM)", token: craft(t, map[string]any{"alg": "HS256", "kid": kid}, goodClaims(), hs256(pemBytes())), wantErr: middleware.ErrUnsupportedAlgorithm},
		{name: "HMAC with the public key as secret (DER modulus)", token: craft(t, map[string]any{"alg": "HS256", "kid": kid}, goodClaims(), hs256(pub.N.Bytes())), wantErr: middleware.ErrUnsupportedAlgorithm},
		{name: "ES256 against an RSA kid", token: craft(t, map[string]any{"alg": "ES256", "kid": kid}, goodClaims(), func(in []byte) []byte {
			s, err := jws.NewSigner(jwa.ES256)
			require.NoError(t, err)
			sig, err := s.Sign(in, ecKey)
			require.NoError(t, err)
			return sig
		}), wantErr: middleware.ErrUnknownKey},
		{name: "bad signature", token: tamper(a.IssueToken(testutil.TokenClaims{Audience: []string{"api"}})), wantErr: middleware.ErrInvalidSignature, desc: "invalid token signature"},
		{name: "critical header", token: craft(t, map[string]any{"alg": "RS256", "kid": kid, "crit": []string{"exp"}}, goodClaims(), func([]byte) []byte { return []byte("x") }), wantErr: middleware.ErrMalformedToken},
		{name: "opaque token", token: "not-a-jwt", wantErr: middleware.ErrMalformedToken},
		{name: "four segments", token: "a.b.c.d", wantErr: middleware.ErrMalformedToken},
		{name: "garbage header", token: "!!.e30.c2ln", wantErr: middleware.ErrMalformedToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims, err := v.Validate(context.Background(), sub(tt.token))
			if tt.wantErr == nil {
				require.NoError(t, err)
				assert.Equal(t, a.Issuer(), claims.Issuer)
				return
			}
			require.ErrorIs(t, err, tt.wantErr)
			var e *middleware.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, middleware.CodeInvalidToken, e.Code)
			assert.Equal(t, http.StatusUnauthorized, e.Status)
			if tt.desc != "" {
				assert.Equal(t, tt.desc, e.Description)
			}
			assert.NotContains(t, err.Error(), tt.token)
		})
	}
}

// tamper flips one character of the signature.
func tamper(tok string) string {
	i := strings.LastIndexByte(tok, '.') + 5
	c := byte('A')
	if tok[i] == 'A' {
		c = 'B'
	}
	return tok[:i] + string(c) + tok[i+1:]
}

func TestNewValidatorConfig(t *testing.T) {
	a := testutil.NewAuthority(t, testutil.Options{Algorithm: testutil.ES256})
	ctx := context.Background()
	base := jwt.Config{Issuer: a.Issuer(), Audience: []string{"api"}, HTTPClient: a.Client()}

	for _, alg := range []jwt.Algorithm{"HS256", "HS512", "none"} {
		cfg := base
		cfg.Algorithms = []jwt.Algorithm{jwt.RS256, alg}
		_, err := jwt.New(ctx, cfg)
		assert.Error(t, err, alg)
	}
	cfg := base
	cfg.Audience = nil
	_, err := jwt.New(ctx, cfg)
	assert.Error(t, err)
	cfg = base
	cfg.Issuer = ""
	_, err = jwt.New(ctx, cfg)
	assert.Error(t, err)

	// An explicit JWKS URL skips discovery; ES256 keys work.
	cfg = base
	cfg.JWKSURL = a.JWKSURL()
	before := a.DiscoveryCount()
	v, err := jwt.New(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(v.Close)
	assert.Equal(t, before, a.DiscoveryCount())
	_, err = v.Validate(ctx, sub(a.IssueToken(testutil.TokenClaims{Audience: []string{"api"}})))
	require.NoError(t, err)

	// Algorithms restricts what is accepted even when the key exists.
	cfg.Algorithms = []jwt.Algorithm{jwt.RS256}
	v, err = jwt.New(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(v.Close)
	_, err = v.Validate(ctx, sub(a.IssueToken(testutil.TokenClaims{Audience: []string{"api"}})))
	require.ErrorIs(t, err, middleware.ErrUnsupportedAlgorithm)
}

func TestDiscoveryFailures(t *testing.T) {
	a := testutil.NewAuthority(t, testutil.Options{})
	var meta map[string]any
	big := strings.Repeat(" ", 2<<20)
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(meta)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("{" + big + "}")) })
	mux.HandleFunc("/hmac", func(w http.ResponseWriter, _ *http.Request) {
		k, err := jwk.FromRaw([]byte("shared secret"))
		if err != nil {
			t.Error(err)
		}
		set := jwk.NewSet()
		_ = set.AddKey(k)
		_ = json.NewEncoder(w).Encode(set)
	})
	ctx := context.Background()

	meta = map[string]any{"issuer": "https://other.example", "jwks_uri": a.JWKSURL()}
	_, err := jwt.New(ctx, jwt.Config{Issuer: srv.URL, Audience: []string{"api"}})
	require.ErrorContains(t, err, `issuer "https://other.example" does not match`)

	meta = map[string]any{"issuer": srv.URL, "token_endpoint": srv.URL + "/token"}
	_, err = jwt.New(ctx, jwt.Config{Issuer: srv.URL, Audience: []string{"api"}})
	require.ErrorContains(t, err, "no jwks_uri")

	meta = map[string]any{"issuer": srv.URL, "jwks_uri": srv.URL + "/big"}
	_, err = jwt.New(ctx, jwt.Config{Issuer: srv.URL, Audience: []string{"api"}})
	require.ErrorContains(t, err, "exceeds")

	_, err = jwt.New(ctx, jwt.Config{Issuer: srv.URL, JWKSURL: srv.URL + "/hmac", Audience: []string{"api"}})
	require.ErrorContains(t, err, "no usable signing keys")

	// An issuer with no metadata at all: the error names every document tried.
	_, err = jwt.New(ctx, jwt.Config{Issuer: srv.URL + "/nothing", Audience: []string{"api"}})
	require.ErrorContains(t, err, "/.well-known/oauth-authorization-server/nothing")
	require.ErrorContains(t, err, "/nothing/.well-known/openid-configuration")

	// A deadline is honoured.
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(hang.Close)
	tctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = jwt.New(tctx, jwt.Config{Issuer: hang.URL, Audience: []string{"api"}})
	require.Error(t, err)
	assert.Less(t, time.Since(start), 5*time.Second)
}

// TestDiscoveryOrder pins that the key set is found by authority.Discover,
// the module's one discovery client: RFC 8414 metadata first, OpenID
// Connect discovery when there is none.
func TestDiscoveryOrder(t *testing.T) {
	a := testutil.NewAuthority(t, testutil.Options{})
	var srvURL string
	var rfc8414 atomic.Bool
	var served sync.Map // path -> true
	mux := http.NewServeMux()
	doc := func(jwks string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			served.Store(r.URL.Path, true)
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"issuer": srvURL, "jwks_uri": srvURL + jwks})
		}
	}
	mux.HandleFunc("/.well-known/oauth-authorization-server", func(w http.ResponseWriter, r *http.Request) {
		if !rfc8414.Load() {
			http.NotFound(w, r)
			return
		}
		doc("/jwks-rfc8414")(w, r)
	})
	mux.HandleFunc("/.well-known/openid-configuration", doc("/jwks-oidc"))
	var fetched sync.Map // path -> true
	jwks := func(w http.ResponseWriter, r *http.Request) {
		fetched.Store(r.URL.Path, true)
		resp, err := a.Client().Get(a.JWKSURL())
		if err != nil {
			t.Error(err)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.Copy(w, resp.Body)
	}
	mux.HandleFunc("/jwks-rfc8414", jwks)
	mux.HandleFunc("/jwks-oidc", jwks)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	srvURL = srv.URL

	for _, tc := range []struct {
		name     string
		rfc8414  bool
		wantJWKS string
	}{
		{"OpenID Connect only", false, "/jwks-oidc"},
		{"both: RFC 8414 wins", true, "/jwks-rfc8414"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rfc8414.Store(tc.rfc8414)
			served.Clear()
			fetched.Clear()
			v, err := jwt.New(context.Background(), jwt.Config{Issuer: srv.URL, Audience: []string{"api"}, HTTPClient: srv.Client()})
			require.NoError(t, err)
			t.Cleanup(v.Close)
			_, ok := fetched.Load(tc.wantJWKS)
			assert.True(t, ok, "key set fetched from %s", tc.wantJWKS)
			_, oidc := served.Load("/.well-known/openid-configuration")
			assert.Equal(t, !tc.rfc8414, oidc, "OpenID Connect document asked only without RFC 8414 metadata")
		})
	}
}

func TestBearerWithValidator(t *testing.T) {
	a, v, _ := newValidator(t, jwt.Config{})
	for routerName, build := range routers {
		t.Run(routerName, func(t *testing.T) {
			var sub string
			mw := middleware.Bearer(middleware.Options{Validator: v, RequiredScopes: []string{"orders:read"}})
			h := build(func(next http.Handler) http.Handler {
				return mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					claims, ok := middleware.ClaimsFromContext(r.Context())
					if !ok {
						t.Error("no claims in context")
						return
					}
					sub = claims.Subject
					next.ServeHTTP(w, r)
				}))
			})
			do := func(tok string) *httptest.ResponseRecorder {
				req := httptest.NewRequest(http.MethodGet, "/resource", nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				return rec
			}

			tok := a.IssueToken(testutil.TokenClaims{Subject: "alice", Audience: []string{"api"}, Scope: "profile orders:read"})
			rec := do(tok)
			require.Equal(t, http.StatusOK, rec.Code)
			assert.Equal(t, tok, rec.Body.String())
			assert.Equal(t, "alice", sub)

			rec = do(a.IssueToken(testutil.TokenClaims{Subject: "bob", Audience: []string{"api"}, Extra: map[string]any{"scp": []string{"orders:read"}}}))
			assert.Equal(t, http.StatusOK, rec.Code, "scp array")

			rec = do(a.IssueToken(testutil.TokenClaims{Audience: []string{"api"}, Scope: "profile orders:readwrite"}))
			require.Equal(t, http.StatusForbidden, rec.Code)
			assert.Equal(t, `Bearer realm="api", error="insufficient_scope", error_description="token lacks a required scope", scope="orders:read"`, rec.Header().Get("WWW-Authenticate"))

			rec = do(a.IssueToken(testutil.TokenClaims{Audience: []string{"api"}, IssuedAt: time.Now().Add(-time.Hour), Expiry: time.Now().Add(-time.Hour)}))
			require.Equal(t, http.StatusUnauthorized, rec.Code)
			assert.Contains(t, rec.Header().Get("WWW-Authenticate"), `error="invalid_token", error_description="token expired"`)
			var body map[string]string
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
			assert.Equal(t, map[string]string{"error": "invalid_token", "error_description": "token expired"}, body)

			rec = do("opaque-token")
			assert.Equal(t, http.StatusUnauthorized, rec.Code)
		})
	}
}

// The claims returned are a middleware.Claims: registered claims as
// fields, the rest through Decode.
func TestValidateReturnsClaims(t *testing.T) {
	a, v, _ := newValidator(t, jwt.Config{})
	claims, err := v.Validate(context.Background(), sub(a.IssueToken(testutil.TokenClaims{Subject: "alice", ClientID: "web", Audience: []string{"api"}, Scope: "read write"})))
	require.NoError(t, err)
	assert.Equal(t, "alice", claims.Subject)
	assert.Equal(t, []string{"api"}, claims.Audience)
	assert.Equal(t, []string{"read", "write"}, claims.Scopes)
	var extra struct {
		ClientID string `json:"client_id"`
	}
	require.NoError(t, claims.Decode(&extra))
	assert.Equal(t, "web", extra.ClientID)
}
