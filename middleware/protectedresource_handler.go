package middleware

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// MetadataMaxAge is how long clients and caches may keep the document
// that a [ProtectedResourceHandler] serves: its Cache-Control max-age.
const MetadataMaxAge = time.Hour

// ProtectedResourceHandler serves the RFC 9728 metadata of one protected
// resource. Mount it at [ProtectedResourceHandler.Path] on the resource's
// host, and give [ProtectedResourceHandler.URL] to [Options.ResourceMetadata]
// so that the challenges point to it. It answers GET and HEAD with the
// document as application/json; other methods get 405 with an Allow header.
// It is immutable and safe for concurrent use.
type ProtectedResourceHandler struct {
	body   []byte
	length string // len(body), precomputed
	path   string
	url    string
}

var _ http.Handler = (*ProtectedResourceHandler)(nil)

// NewProtectedResourceHandler validates m (see [ProtectedResource.Validate])
// and returns the handler serving it, its JSON encoded once.
func NewProtectedResourceHandler(m ProtectedResource) (*ProtectedResourceHandler, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	doc := struct {
		ProtectedResource
		BearerMethodsSupported []string `json:"bearer_methods_supported"`
	}{m, []string{"header"}}
	body, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	body = append(body, '\n')
	u, _ := url.Parse(m.Resource) // validated
	path := metadataPath(u)
	return &ProtectedResourceHandler{
		body:   body,
		length: strconv.Itoa(len(body)),
		path:   path,
		url:    u.Scheme + "://" + u.Host + path,
	}, nil
}

// Path returns the path at which the metadata must be served (RFC 9728
// §3.1), escaped as in a URL: the pattern to mount the handler on, such as
// "/.well-known/oauth-protected-resource/orders".
func (h *ProtectedResourceHandler) Path() string { return h.path }

// URL returns the absolute URL of the metadata, the value of
// [Options.ResourceMetadata]: [ProtectedResourceMetadataURL] of the resource.
func (h *ProtectedResourceHandler) URL() string { return h.url }

// ServeHTTP answers GET and HEAD with the metadata document, and any other
// method with 405 Method Not Allowed. It does not look at the request's
// path: the router that mounts it at Path does.
func (h *ProtectedResourceHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	hd.Set("Content-Type", "application/json")
	hd.Set("Content-Length", h.length)
	hd.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(MetadataMaxAge/time.Second)))
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(h.body)
	}
}
