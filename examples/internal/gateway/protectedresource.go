package gateway

import (
	"errors"
	"flag"
	"fmt"
	"net/http"
	"strings"

	"github.com/go-tokenexchange/tokenexchange/middleware"
)

// defineResourceFlags defines the flags of the gateway as an RFC 9728
// protected resource, storing into cfg.
func defineResourceFlags(fs *flag.FlagSet, cfg *Config) {
	fs.StringVar(&cfg.ProtectedResource, "protected-resource", "", "the gateway's RFC 9728 resource identifier `URL` (https; http only on loopback): serves its metadata at /.well-known/oauth-protected-resource[/path], adds resource_metadata to the 401 and 403 challenges, and accepts the URL as an inbound audience (needs -issuer)")
}

// checkProtectedResource checks c.ProtectedResource: an identifier that
// RFC 9728 accepts, with an issuer to name as its authorization server.
func (c Config) checkProtectedResource() error {
	if c.ProtectedResource == "" {
		return nil
	}
	if c.Issuer == "" {
		return errors.New("-protected-resource needs -issuer, the authorization server its metadata names")
	}
	if _, err := middleware.ProtectedResourceMetadataURL(c.ProtectedResource); err != nil {
		// The error says which field; the flag says it better.
		msg := strings.TrimPrefix(err.Error(), middleware.ErrInvalidMetadata.Error()+": resource: ")
		return errors.New("-protected-resource: " + msg)
	}
	return nil
}

// newMetadata returns the handler of the gateway's RFC 9728 document, nil
// without cfg.ProtectedResource: authorization_servers is the issuer,
// bearer_methods_supported ["header"]. The gateway has no inbound scope
// requirement of its own (a route's scope is what it asks for its
// downstream), so the document lists no scopes_supported.
func newMetadata(cfg Config) (*middleware.ProtectedResourceHandler, error) {
	if cfg.ProtectedResource == "" {
		return nil, nil
	}
	h, err := middleware.NewProtectedResourceHandler(middleware.ProtectedResource{
		Resource:             cfg.ProtectedResource,
		AuthorizationServers: []string{cfg.Issuer},
	})
	if err != nil {
		return nil, fmt.Errorf("-protected-resource: %w", err)
	}
	return h, nil
}

// ProtectedResource serves, with -protected-resource, the gateway's RFC
// 9728 metadata at its well-known path (GET and HEAD, no token needed),
// and passes every other request to next; without it, it returns next.
// [Run] puts it in front of the example's router.
func (g *Gateway) ProtectedResource(next http.Handler) http.Handler {
	if g.metadata == nil {
		return next
	}
	path := g.metadata.Path()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.EscapedPath() == path {
			g.metadata.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// withResourceMetadata returns onError, the answer to a failed outbound
// call, with resource_metadata added to the challenge of its 401s and
// 403s (a subject token the authority refused), as the inbound
// middleware's own refusals carry it; onError itself without metadata.
func withResourceMetadata(onError func(http.ResponseWriter, *http.Request, error), metadataURL string) func(http.ResponseWriter, *http.Request, error) {
	if metadataURL == "" {
		return onError
	}
	return func(w http.ResponseWriter, r *http.Request, err error) {
		onError(&challengeWriter{ResponseWriter: w, metadataURL: metadataURL}, r, err)
	}
}

// challengeWriter adds resource_metadata to a Bearer challenge when the
// header is written.
type challengeWriter struct {
	http.ResponseWriter
	metadataURL string
	wrote       bool
}

// WriteHeader implements http.ResponseWriter.
func (c *challengeWriter) WriteHeader(status int) {
	if !c.wrote {
		c.wrote = true
		h := c.Header()
		if v := h.Get("WWW-Authenticate"); v != "" && (status == http.StatusUnauthorized || status == http.StatusForbidden) {
			h.Set("WWW-Authenticate", appendResourceMetadata(v, c.metadataURL))
		}
	}
	c.ResponseWriter.WriteHeader(status)
}

// Write implements http.ResponseWriter.
func (c *challengeWriter) Write(b []byte) (int, error) {
	if !c.wrote {
		c.WriteHeader(http.StatusOK)
	}
	return c.ResponseWriter.Write(b)
}

// appendResourceMetadata adds the resource_metadata parameter to the
// Bearer challenge v, quoted as RFC 9110 §5.6.4 asks.
func appendResourceMetadata(v, metadataURL string) string {
	sep := ", "
	if v == "Bearer" {
		sep = " "
	}
	return v + sep + "resource_metadata=" + quoteString(metadataURL)
}

// quoteString returns s as an RFC 9110 quoted-string.
func quoteString(s string) string {
	b := make([]byte, 0, len(s)+2)
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return string(append(b, '"'))
}

// metadataURL returns the URL of h's document, "" for a nil h.
func metadataURL(h *middleware.ProtectedResourceHandler) string {
	if h == nil {
		return ""
	}
	return h.URL()
}
