package middleware_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/middleware"
	"github.com/go-tokenexchange/tokenexchange/middleware/jwt"
	"github.com/go-tokenexchange/tokenexchange/testutil"
)

// parseChallenge reads one WWW-Authenticate challenge as RFC 7235 §2.1
// writes it, the way an MCP client does: the auth-scheme, then
// comma-separated auth-params name=value, value a token or a
// quoted-string with backslash escapes. Names are case-insensitive (stored
// in lower case); a repeated name is an error.
func parseChallenge(s string) (scheme string, params map[string]string, err error) {
	scheme, rest, _ := strings.Cut(s, " ")
	if scheme == "" {
		return "", nil, errors.New("no auth-scheme")
	}
	params = make(map[string]string)
	for rest = strings.TrimLeft(rest, " \t"); rest != ""; {
		eq := strings.IndexByte(rest, '=')
		if eq <= 0 {
			return "", nil, fmt.Errorf("auth-param without '=' in %q", rest)
		}
		name := strings.ToLower(strings.TrimSpace(rest[:eq]))
		rest = strings.TrimLeft(rest[eq+1:], " \t")
		var value strings.Builder
		if strings.HasPrefix(rest, `"`) {
			i := 1
			for ; i < len(rest) && rest[i] != '"'; i++ {
				if rest[i] == '\\' {
					i++
					if i == len(rest) {
						return "", nil, errors.New("escape at the end")
					}
				}
				value.WriteByte(rest[i])
			}
			if i == len(rest) {
				return "", nil, errors.New("unterminated quoted-string")
			}
			rest = rest[i+1:]
		} else {
			end := strings.IndexAny(rest, ", \t")
			if end < 0 {
				end = len(rest)
			}
			value.WriteString(rest[:end])
			rest = rest[end:]
		}
		if _, dup := params[name]; dup {
			return "", nil, fmt.Errorf("auth-param %s repeated", name)
		}
		params[name] = value.String()
		rest = strings.TrimLeft(rest, " \t")
		if rest != "" {
			if rest[0] != ',' {
				return "", nil, fmt.Errorf("want ',' before %q", rest)
			}
			rest = strings.TrimLeft(rest[1:], " \t")
		}
	}
	return scheme, params, nil
}

func TestParseChallenge(t *testing.T) {
	scheme, p, err := parseChallenge(`Bearer realm="a \"b\" \\ c", error=invalid_token,scope="x y"`)
	require.NoError(t, err)
	assert.Equal(t, "Bearer", scheme)
	assert.Equal(t, map[string]string{"realm": `a "b" \ c`, "error": "invalid_token", "scope": "x y"}, p)
	for _, bad := range []string{``, `Bearer realm`, `Bearer realm="x`, `Bearer a="1" b="2"`, `Bearer a="1", a="2"`, `Bearer a="\`} {
		_, _, err := parseChallenge(bad)
		assert.Error(t, err, bad)
	}
}

// staticValidator accepts "good" (scope read) and refuses anything else.
type staticValidator struct{}

func (staticValidator) Validate(_ context.Context, tok authority.SubjectToken) (*middleware.Claims, error) {
	if tok.Value() == "good" {
		return middleware.ParseClaims([]byte(`{"sub":"alice","scope":"read"}`))
	}
	return nil, &middleware.Error{Code: middleware.CodeInvalidToken, Description: "unknown token", Err: middleware.ErrMalformedToken}
}

// TestChallengeResourceMetadata: with Options.ResourceMetadata every
// challenge (missing token, invalid token, insufficient scope, malformed
// request) carries resource_metadata beside the other parameters, quoted
// and escaped; without it none does; a 503 has no challenge at all.
func TestChallengeResourceMetadata(t *testing.T) {
	const md = `https://api.example/.well-known/oauth-protected-resource/a"b\c`
	for _, tc := range []struct {
		name   string
		header string // Authorization; "" for none
		scopes []string
		status int
		want   map[string]string // parameters besides realm and resource_metadata
	}{
		{"missing token", "", nil, http.StatusUnauthorized, map[string]string{}},
		{"other scheme", "Basic dTpw", nil, http.StatusUnauthorized, map[string]string{}},
		{"invalid token", "Bearer bad", nil, http.StatusUnauthorized,
			map[string]string{"error": "invalid_token", "error_description": "unknown token"}},
		{"malformed header", "Bearer a b", nil, http.StatusBadRequest,
			map[string]string{"error": "invalid_request", "error_description": "malformed authorization header: invalid characters in token"}},
		{"insufficient scope", "Bearer good", []string{"read", "write"}, http.StatusForbidden,
			map[string]string{"error": "insufficient_scope", "error_description": "token lacks a required scope", "scope": "read write"}},
	} {
		for _, withMD := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/metadata=%v", tc.name, withMD), func(t *testing.T) {
				opts := middleware.Options{Realm: "api", Validator: staticValidator{}, RequiredScopes: tc.scopes}
				if withMD {
					opts.ResourceMetadata = md
				}
				h := middleware.Bearer(opts)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
					t.Error("handler reached")
				}))
				req := httptest.NewRequest(http.MethodGet, "/", nil)
				if tc.header != "" {
					req.Header.Set("Authorization", tc.header)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				require.Equal(t, tc.status, rec.Code)
				scheme, params, err := parseChallenge(rec.Header().Get("WWW-Authenticate"))
				require.NoError(t, err, rec.Header().Get("WWW-Authenticate"))
				assert.Equal(t, "Bearer", scheme)
				want := map[string]string{"realm": "api"}
				for k, v := range tc.want {
					want[k] = v
				}
				if withMD {
					want["resource_metadata"] = md
				}
				assert.Equal(t, want, params)
			})
		}
	}
	t.Run("unavailable has no challenge", func(t *testing.T) {
		h := middleware.Bearer(middleware.Options{ResourceMetadata: md, Validator: validatorFunc(func(context.Context, authority.SubjectToken) (*middleware.Claims, error) {
			return nil, middleware.ErrUnavailable
		})})(http.NotFoundHandler())
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("Authorization", "Bearer x")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
		assert.Empty(t, rec.Header().Get("WWW-Authenticate"))
	})
}

func TestBearerPanicsOnBadResourceMetadata(t *testing.T) {
	for _, bad := range []string{"/relative", "ftp://x/y", "https://", "::", "http://api.example/.well-known/oauth-protected-resource", "https://u:p@api.example/x"} {
		func() {
			defer func() {
				msg, _ := recover().(string)
				assert.True(t, strings.HasPrefix(msg, "middleware: Options.ResourceMetadata must be an absolute https URL"), "%q: panic %q", bad, msg)
				assert.NotContains(t, msg, "u:p@", "user information is not echoed")
			}()
			middleware.Bearer(middleware.Options{ResourceMetadata: bad})
		}()
	}
	// http for a loopback host, as in tests and local runs.
	assert.NotPanics(t, func() {
		middleware.Bearer(middleware.Options{ResourceMetadata: "http://127.0.0.1:8080/.well-known/oauth-protected-resource"})
	})
}

// TestMCPClientDiscovery plays an MCP client against a resource protected
// by a JWT validator (RFC 9728 §5): it calls without a token, reads the
// 401's challenge, fetches the resource_metadata URL, checks the §3.3 rule,
// finds the authorization server's metadata (RFC 8414) from the issuer it
// names, gets a token for the resource (RFC 8707 resource parameter, which
// becomes the token's audience) and calls again, now accepted.
func TestMCPClientDiscovery(t *testing.T) {
	as := testutil.NewAuthority(t, testutil.Options{})
	as.AddClient(testutil.Client{ID: "mcp-client", Secret: "mcp-secret"})
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	resource := srv.URL + "/mcp"

	meta, err := middleware.NewProtectedResourceHandler(middleware.ProtectedResource{
		Resource:             resource,
		AuthorizationServers: []string{as.Issuer()},
	})
	require.NoError(t, err)
	v, err := jwt.New(context.Background(), jwt.Config{
		Issuer:     as.Issuer(),
		JWKSURL:    as.JWKSURL(),
		Audience:   []string{resource}, // RFC 8707: the resource identifier is an audience
		HTTPClient: as.Client(),
	})
	require.NoError(t, err)
	defer v.Close()
	mux.Handle(meta.Path(), meta)
	mux.Handle("/mcp", middleware.Bearer(middleware.Options{Validator: v, ResourceMetadata: meta.URL()})(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, _ := middleware.ClaimsFromContext(r.Context())
			fmt.Fprint(w, "hello ", c.Subject)
		})))

	// 1. The call without a token, and its challenge.
	resp, err := http.Get(resource)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	scheme, params, err := parseChallenge(resp.Header.Get("WWW-Authenticate"))
	require.NoError(t, err)
	require.True(t, strings.EqualFold(scheme, "Bearer"))
	mdURL := params["resource_metadata"]
	require.NotEmpty(t, mdURL)

	// 2. The resource's metadata, and RFC 9728 §3.3.
	var prm struct {
		Resource             string   `json:"resource"`
		AuthorizationServers []string `json:"authorization_servers"`
		BearerMethods        []string `json:"bearer_methods_supported"`
	}
	getJSON(t, http.DefaultClient, mdURL, &prm)
	require.Equal(t, resource, prm.Resource, "§3.3: the resource must be the URL the client called")
	require.Len(t, prm.AuthorizationServers, 1)
	assert.Equal(t, []string{"header"}, prm.BearerMethods)

	// 3. The authorization server's metadata, from its issuer (RFC 8414 §3).
	var asm struct {
		Issuer        string `json:"issuer"`
		TokenEndpoint string `json:"token_endpoint"`
	}
	getJSON(t, as.Client(), strings.TrimSuffix(prm.AuthorizationServers[0], "/")+"/.well-known/oauth-authorization-server", &asm)
	require.Equal(t, prm.AuthorizationServers[0], asm.Issuer)

	// 4. A token for the resource.
	req, err := http.NewRequest(http.MethodPost, asm.TokenEndpoint, strings.NewReader(url.Values{
		"grant_type": {"client_credentials"},
		"resource":   {prm.Resource},
	}.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("mcp-client", "mcp-secret")
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	resp, err = as.Client().Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, jsonDecode(resp, &tok))

	// 5. The call, accepted.
	req, err = http.NewRequest(http.MethodGet, resource, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	body := readBody(t, resp)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "hello mcp-client", body)

	// A token for another audience is refused, with the same pointer.
	other := as.UserToken("alice", "web", "orders")
	req.Header.Set("Authorization", "Bearer "+other)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	readBody(t, resp)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	_, params, err = parseChallenge(resp.Header.Get("WWW-Authenticate"))
	require.NoError(t, err)
	assert.Equal(t, "invalid_token", params["error"])
	assert.Equal(t, mdURL, params["resource_metadata"])
}

// jsonDecode decodes resp's JSON body into v and closes it.
func jsonDecode(resp *http.Response, v any) error {
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}

// readBody reads and closes resp's body.
func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}
