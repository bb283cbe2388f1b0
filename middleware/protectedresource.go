package middleware

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// WellKnownProtectedResource is the well-known URI suffix of RFC 9728 §3:
// a protected resource's metadata is served at this path inserted between
// the host and the path of its resource identifier (see
// [ProtectedResourceMetadataURL]).
const WellKnownProtectedResource = "/.well-known/oauth-protected-resource"

// ProtectedResource is the metadata of an OAuth 2.0 protected resource (RFC
// 9728 §2), as [NewProtectedResourceHandler] serves it. Only the parameters
// that a resource behind [Bearer] can state truthfully are here; the
// document always says bearer_methods_supported ["header"], the only method
// Bearer accepts (RFC 6750 §2.1), and names no jwks_uri (the resource signs
// nothing), no DPoP or mutual-TLS binding.
type ProtectedResource struct {
	// Resource is the resource identifier (RFC 9728 §1.2): an absolute
	// https URL with a host and no query or fragment. An http URL is
	// accepted only for a loopback host (localhost, 127.0.0.0/8, ::1), for
	// tests and local development. Required. A client checks that it is
	// exactly the URL it derived the metadata URL from (§3.3), and may
	// send it as the RFC 8707 resource parameter to get a token for this
	// resource: list it among the audiences the Validator accepts
	// (middleware/jwt's Config.Audience).
	Resource string `json:"resource"`
	// AuthorizationServers are the issuer identifiers (RFC 8414) of the
	// authorization servers that issue tokens for this resource: an MCP
	// client picks one and finds its endpoints by discovery. Each must be
	// an absolute URL with the same scheme rules as Resource.
	AuthorizationServers []string `json:"authorization_servers,omitempty"`
	// ScopesSupported are the scopes used in requests to this resource,
	// each an RFC 6749 scope-token. Optional.
	ScopesSupported []string `json:"scopes_supported,omitempty"`
	// ResourceName is a human-readable name of the resource. Optional.
	ResourceName string `json:"resource_name,omitempty"`
	// ResourceDocumentation is the URL of the resource's developer
	// documentation. Optional; an absolute http or https URL.
	ResourceDocumentation string `json:"resource_documentation,omitempty"`
	// ResourcePolicyURI and ResourceTOSURI are the URLs of the resource's
	// data policy and terms of service. Optional; absolute http or https
	// URLs.
	ResourcePolicyURI string `json:"resource_policy_uri,omitempty"`
	ResourceTOSURI    string `json:"resource_tos_uri,omitempty"`
}

// ErrInvalidMetadata is wrapped by the errors of [ProtectedResource.Validate]
// and [ProtectedResourceMetadataURL].
var ErrInvalidMetadata = errors.New("middleware: invalid protected-resource metadata")

// Validate reports the first problem of m, an error wrapping
// [ErrInvalidMetadata] that names the field, or nil.
func (m *ProtectedResource) Validate() error {
	if _, err := resourceURL(m.Resource); err != nil {
		return fmt.Errorf("%w: resource: %w", ErrInvalidMetadata, err)
	}
	for _, as := range m.AuthorizationServers {
		if err := checkSecureURL(as); err != nil {
			return fmt.Errorf("%w: authorization_servers: %w", ErrInvalidMetadata, err)
		}
	}
	for _, s := range m.ScopesSupported {
		if !isScopeToken(s) {
			return fmt.Errorf("%w: scopes_supported: %s is not a scope-token", ErrInvalidMetadata, strconv.Quote(s))
		}
	}
	for _, u := range []struct{ name, v string }{
		{"resource_documentation", m.ResourceDocumentation},
		{"resource_policy_uri", m.ResourcePolicyURI},
		{"resource_tos_uri", m.ResourceTOSURI},
	} {
		if u.v == "" {
			continue
		}
		if p, err := url.Parse(u.v); err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			return fmt.Errorf("%w: %s: %s is not an absolute http or https URL", ErrInvalidMetadata, u.name, strconv.Quote(u.v))
		}
	}
	return nil
}

// ProtectedResourceMetadataURL returns the URL at which the metadata of the
// protected resource identified by resource is found (RFC 9728 §3.1):
// [WellKnownProtectedResource] inserted between the host and the path, a
// slash that ends at the host being dropped. For
// "https://api.example/orders" it is
// "https://api.example/.well-known/oauth-protected-resource/orders"; for
// "https://api.example" or "https://api.example/" it is
// "https://api.example/.well-known/oauth-protected-resource". resource must
// be valid as [ProtectedResource.Resource]; the error wraps
// [ErrInvalidMetadata].
func ProtectedResourceMetadataURL(resource string) (string, error) {
	u, err := resourceURL(resource)
	if err != nil {
		return "", fmt.Errorf("%w: resource: %w", ErrInvalidMetadata, err)
	}
	return u.Scheme + "://" + u.Host + metadataPath(u), nil
}

// metadataPath is the path of the metadata of the resource u (RFC 9728
// §3.1), escaped as in u.
func metadataPath(u *url.URL) string {
	p := u.EscapedPath()
	if p == "/" {
		p = ""
	}
	return WellKnownProtectedResource + p
}

// resourceURL parses a resource identifier: an absolute https URL (http
// for a loopback host) with a host, no user info, query or fragment.
func resourceURL(s string) (*url.URL, error) {
	if err := checkSecureURL(s); err != nil {
		return nil, err
	}
	u, _ := url.Parse(s) // checked above
	switch {
	case u.RawQuery != "" || u.ForceQuery:
		return nil, fmt.Errorf("%s has a query component", strconv.Quote(s))
	case strings.Contains(s, "#"):
		return nil, fmt.Errorf("%s has a fragment component", strconv.Quote(s))
	}
	return u, nil
}

// checkSecureURL accepts an absolute https URL with a host and no user
// info, or an http one whose host is loopback.
func checkSecureURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case s == "":
		return errors.New("empty URL")
	case err != nil || u.Host == "" || u.Opaque != "":
		return fmt.Errorf("%s is not an absolute URL with a host", strconv.Quote(s))
	case u.User != nil:
		return fmt.Errorf("%s has user information", strconv.Quote(u.Redacted()))
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return nil
	case u.Scheme == "http":
		return fmt.Errorf("%s: http is accepted only for a loopback host; use https", strconv.Quote(s))
	}
	return fmt.Errorf("%s: the scheme must be https", strconv.Quote(s))
}

// isLoopback reports whether host is "localhost" or a loopback IP address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
