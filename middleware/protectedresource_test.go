package middleware_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-tokenexchange/tokenexchange/middleware"
)

func TestProtectedResourceMetadataURL(t *testing.T) {
	for _, tc := range []struct {
		resource, want string
	}{
		{"https://api.example", "https://api.example/.well-known/oauth-protected-resource"},
		{"https://api.example/", "https://api.example/.well-known/oauth-protected-resource"},
		{"https://api.example/orders", "https://api.example/.well-known/oauth-protected-resource/orders"},
		{"https://api.example/orders/", "https://api.example/.well-known/oauth-protected-resource/orders/"},
		{"https://api.example:8443/a/b", "https://api.example:8443/.well-known/oauth-protected-resource/a/b"},
		{"https://api.example/a%20b", "https://api.example/.well-known/oauth-protected-resource/a%20b"},
		{"http://127.0.0.1:8080/mcp", "http://127.0.0.1:8080/.well-known/oauth-protected-resource/mcp"},
		{"http://localhost/mcp", "http://localhost/.well-known/oauth-protected-resource/mcp"},
		{"http://[::1]:9000", "http://[::1]:9000/.well-known/oauth-protected-resource"},
	} {
		t.Run(tc.resource, func(t *testing.T) {
			got, err := middleware.ProtectedResourceMetadataURL(tc.resource)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestProtectedResourceValidate(t *testing.T) {
	valid := func() middleware.ProtectedResource {
		return middleware.ProtectedResource{
			Resource:              "https://api.example/orders",
			AuthorizationServers:  []string{"https://as.example/realms/demo"},
			ScopesSupported:       []string{"orders:read"},
			ResourceDocumentation: "https://docs.example/orders",
		}
	}
	for _, tc := range []struct {
		name   string
		modify func(*middleware.ProtectedResource)
		want   string // in the error; "" for valid
	}{
		{"valid", func(*middleware.ProtectedResource) {}, ""},
		{"only resource", func(m *middleware.ProtectedResource) {
			*m = middleware.ProtectedResource{Resource: "https://api.example"}
		}, ""},
		{"missing resource", func(m *middleware.ProtectedResource) { m.Resource = "" }, "resource: empty URL"},
		{"relative resource", func(m *middleware.ProtectedResource) { m.Resource = "/orders" }, "not an absolute URL"},
		{"http resource", func(m *middleware.ProtectedResource) { m.Resource = "http://api.example/orders" }, "loopback"},
		{"other scheme", func(m *middleware.ProtectedResource) { m.Resource = "ftp://api.example/" }, "scheme must be https"},
		{"fragment", func(m *middleware.ProtectedResource) { m.Resource = "https://api.example/orders#x" }, "fragment"},
		{"empty fragment", func(m *middleware.ProtectedResource) { m.Resource = "https://api.example/orders#" }, "fragment"},
		{"query", func(m *middleware.ProtectedResource) { m.Resource = "https://api.example/orders?a=b" }, "query"},
		{"user info", func(m *middleware.ProtectedResource) { m.Resource = "https://u:secret@api.example/" }, "user information"},
		{"http authorization server", func(m *middleware.ProtectedResource) {
			m.AuthorizationServers = []string{"http://as.example"}
		}, "authorization_servers"},
		{"bad scope", func(m *middleware.ProtectedResource) { m.ScopesSupported = []string{"a b"} }, "scopes_supported"},
		{"bad documentation", func(m *middleware.ProtectedResource) { m.ResourceDocumentation = "docs" }, "resource_documentation"},
		{"bad tos", func(m *middleware.ProtectedResource) { m.ResourceTOSURI = "mailto:a@b" }, "resource_tos_uri"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := valid()
			tc.modify(&m)
			err := m.Validate()
			_, herr := middleware.NewProtectedResourceHandler(m)
			if tc.want == "" {
				assert.NoError(t, err)
				assert.NoError(t, herr)
				return
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, middleware.ErrInvalidMetadata)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "secret")
			assert.Equal(t, err, herr)
		})
	}
	_, err := middleware.ProtectedResourceMetadataURL("https://api.example/?q")
	assert.True(t, errors.Is(err, middleware.ErrInvalidMetadata), "%v", err)
}

// TestProtectedResourceHandler serves the document at its well-known path
// and checks what a client sees: content type, caching, the body's
// members, HEAD without a body, 405 with Allow for other methods.
func TestProtectedResourceHandler(t *testing.T) {
	h, err := middleware.NewProtectedResourceHandler(middleware.ProtectedResource{
		Resource:             "https://api.example/orders",
		AuthorizationServers: []string{"https://as.example/realms/demo"},
		ScopesSupported:      []string{"orders:read", "orders:write"},
		ResourceName:         "Orders \"API\"",
	})
	require.NoError(t, err)
	assert.Equal(t, "/.well-known/oauth-protected-resource/orders", h.Path())
	assert.Equal(t, "https://api.example/.well-known/oauth-protected-resource/orders", h.URL())

	mux := http.NewServeMux()
	mux.Handle(h.Path(), h)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	resp, err := http.Get(srv.URL + h.Path())
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.Equal(t, "public, max-age=3600", resp.Header.Get("Cache-Control"))
	assert.JSONEq(t, `{
		"resource": "https://api.example/orders",
		"authorization_servers": ["https://as.example/realms/demo"],
		"scopes_supported": ["orders:read", "orders:write"],
		"resource_name": "Orders \"API\"",
		"bearer_methods_supported": ["header"]
	}`, string(body))

	for _, tc := range []struct {
		method     string
		status     int
		allow      string
		bodyLength int
	}{
		{http.MethodHead, http.StatusOK, "", 0},
		{http.MethodPost, http.StatusMethodNotAllowed, "GET, HEAD", -1},
		{http.MethodPut, http.StatusMethodNotAllowed, "GET, HEAD", -1},
		{http.MethodDelete, http.StatusMethodNotAllowed, "GET, HEAD", -1},
	} {
		t.Run(tc.method, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, srv.URL+h.Path(), strings.NewReader(""))
			require.NoError(t, err)
			resp, err := srv.Client().Do(req)
			require.NoError(t, err)
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assert.Equal(t, tc.status, resp.StatusCode)
			assert.Equal(t, tc.allow, resp.Header.Get("Allow"))
			if tc.bodyLength == 0 {
				assert.Empty(t, b)
				assert.Equal(t, int64(len(body)), resp.ContentLength, "HEAD announces the GET's length")
			}
		})
	}
}

// TestProtectedResourceSameIdentifier is RFC 9728 §3.3: a client that
// derives the metadata URL from the resource it called must find that
// very identifier in the document, for a resource at the root and one
// with a path.
func TestProtectedResourceSameIdentifier(t *testing.T) {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, resource := range []string{srv.URL, srv.URL + "/mcp", srv.URL + "/tenants/a/api"} {
		h, err := middleware.NewProtectedResourceHandler(middleware.ProtectedResource{Resource: resource})
		require.NoError(t, err)
		mux.Handle(h.Path(), h)
	}
	for _, resource := range []string{srv.URL, srv.URL + "/mcp", srv.URL + "/tenants/a/api"} {
		t.Run(resource, func(t *testing.T) {
			u, err := middleware.ProtectedResourceMetadataURL(resource)
			require.NoError(t, err)
			var doc struct {
				Resource string `json:"resource"`
			}
			getJSON(t, srv.Client(), u, &doc)
			assert.Equal(t, resource, doc.Resource)
		})
	}
}

// getJSON GETs u and decodes its JSON body into v, failing the test on
// anything but 200 application/json.
func getJSON(t *testing.T, c *http.Client, u string, v any) {
	t.Helper()
	resp, err := c.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, u)
	require.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json"), resp.Header.Get("Content-Type"))
	require.NoError(t, json.NewDecoder(resp.Body).Decode(v))
}
