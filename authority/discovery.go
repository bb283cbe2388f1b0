package authority

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// Metadata is the part of an authorization server's metadata (RFC 8414 §2,
// OpenID Connect Discovery §3) this package uses.
type Metadata struct {
	// Issuer is the server's issuer identifier ("issuer").
	Issuer string `json:"issuer"`
	// TokenEndpoint is the URL of the token endpoint ("token_endpoint").
	TokenEndpoint string `json:"token_endpoint"`
	// AuthorizationEndpoint is the URL of the authorization endpoint
	// ("authorization_endpoint"); a claims challenge names it
	// ([Error.AuthorizationURI]).
	AuthorizationEndpoint string `json:"authorization_endpoint,omitempty"`
	// JWKSURI is the URL of the server's JWK Set ("jwks_uri").
	JWKSURI string `json:"jwks_uri,omitempty"`
	// IntrospectionEndpoint is the URL of the RFC 7662 token introspection
	// endpoint ("introspection_endpoint").
	IntrospectionEndpoint string `json:"introspection_endpoint,omitempty"`
	// GrantTypesSupported lists the grant types ("grant_types_supported").
	GrantTypesSupported []string `json:"grant_types_supported,omitempty"`
	// TokenEndpointAuthMethodsSupported lists the client authentication
	// methods ("token_endpoint_auth_methods_supported"); empty means
	// client_secret_basic only (RFC 8414 §2).
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported,omitempty"`
	// TokenEndpointAuthSigningAlgs lists the algorithms accepted for
	// private_key_jwt ("token_endpoint_auth_signing_alg_values_supported").
	TokenEndpointAuthSigningAlgs []string `json:"token_endpoint_auth_signing_alg_values_supported,omitempty"`
}

// discoveryError is a failed discovery: which documents were tried and why.
// It is temporary when any document failed for a reason that may pass.
type discoveryError struct {
	attempts  []string
	temporary bool
}

func (e *discoveryError) Error() string {
	return "authority: discovery failed: " + strings.Join(e.attempts, "; ")
}

// Temporary reports whether a document failed for a reason that may pass
// (network, 5xx, 429).
func (e *discoveryError) Temporary() bool { return e.temporary }

// Metadata returns the authorization server's metadata, running discovery
// on the first call. With Config.TokenURL set it returns the configured
// endpoint and makes no request. A failed discovery is not remembered: the
// next call tries again.
//
// Errors: a discovery failure as [Discover] describes it ([IsTemporary] or
// [IsPermanent] tell whether trying again may help), or ctx's error,
// wrapped, when ctx ends while another call's discovery runs.
func (c *Client) Metadata(ctx context.Context) (Metadata, error) {
	ep, err := c.resolve(ctx)
	if err != nil {
		return Metadata{}, err
	}
	return ep.meta, nil
}

// errNotNew is the error of a Client not created by [New].
var errNotNew = errors.New("authority: Client must be created with New")

// resolve returns the token endpoint and authentication method, running
// discovery once. Concurrent callers wait for one discovery, each on its
// own context.
func (c *Client) resolve(ctx context.Context) (*endpoint, error) {
	if c.discovering == nil {
		return nil, errNotNew
	}
	if ep := c.resolved(); ep != nil {
		return ep, nil
	}
	select {
	case c.discovering <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("authority: waiting for discovery: %w", ctx.Err())
	}
	defer func() { <-c.discovering }()
	if ep := c.resolved(); ep != nil {
		return ep, nil
	}
	meta, err := c.discover(ctx)
	if err != nil {
		return nil, err
	}
	ep := &endpoint{meta: meta, method: chooseAuthMethod(c.cfg, meta.TokenEndpointAuthMethodsSupported), host: hostOf(meta.TokenEndpoint)}
	c.mu.Lock()
	c.endpoint = ep
	c.mu.Unlock()
	return ep, nil
}

func (c *Client) resolved() *endpoint {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.endpoint
}

// discoveryURLs lists the metadata documents for issuer in the order they
// are tried: RFC 8414 §3.1 (well-known inserted before the path), OpenID
// Connect (appended), and, for an issuer with a path, the RFC 8414 name
// appended as Keycloak also serves it.
func discoveryURLs(issuer string) []string {
	u, err := url.Parse(issuer)
	if err != nil {
		return nil
	}
	path := strings.TrimSuffix(u.Path, "/")
	base := u.Scheme + "://" + u.Host
	urls := []string{
		base + "/.well-known/oauth-authorization-server" + path,
		base + path + "/.well-known/openid-configuration",
	}
	if path != "" {
		urls = append(urls, base+path+"/.well-known/oauth-authorization-server")
	}
	return urls
}

// Discover fetches the metadata of the authorization server whose issuer
// identifier is issuer, trying in order the RFC 8414 document
// (/.well-known/oauth-authorization-server inserted before the issuer's
// path), the OpenID Connect one (/.well-known/openid-configuration
// appended) and, for an issuer with a path, the RFC 8414 name appended (as
// Keycloak also serves it). It returns the first document that answers 200
// with JSON whose "issuer" equals issuer exactly (RFC 8414 §3.3, OpenID
// Connect Discovery §4.3) and whose endpoints (token_endpoint, jwks_uri,
// introspection_endpoint), where present, are absolute http(s) URLs
// without credentials or fragment, https when the issuer is. The caller
// checks that the endpoints it needs are present.
//
// client fetches the documents (nil: [http.DefaultClient]); bodies are read
// up to 1 MiB. The error, when every document failed, names each one and
// why; [IsTemporary] reports whether any failed for a reason that may pass
// (network, 5xx, 429), [IsPermanent] whether all failed for a reason that
// will not (no document, another issuer, bad endpoints), and it wraps
// ctx's error when ctx ended. An issuer that is not an http(s) URL, or
// that has a query, is refused before any request.
func Discover(ctx context.Context, client *http.Client, issuer string) (Metadata, error) {
	if client == nil {
		client = http.DefaultClient
	}
	return discover(ctx, client, issuer, nil, nil)
}

// discover runs discovery as [Discover] describes; accept, when not nil,
// must also accept a document for it to be chosen; inject, when not nil,
// writes the trace context of ctx into each request's header.
func discover(ctx context.Context, client *http.Client, issuer string, accept func(Metadata) error, inject func(context.Context, http.Header)) (Metadata, error) {
	if err := checkEndpointURL(issuer); err != nil {
		return Metadata{}, fmt.Errorf("authority: issuer %q: %w", sanitize(issuer, 200, nil), err)
	}
	if strings.Contains(issuer, "?") {
		return Metadata{}, fmt.Errorf("authority: issuer %q: a query is not allowed (RFC 8414 §2)", sanitize(issuer, 200, nil))
	}
	derr := &discoveryError{}
	for _, doc := range discoveryURLs(issuer) {
		meta, temporary, err := fetchMetadata(ctx, client, issuer, doc, inject)
		if err == nil && accept != nil {
			err = accept(meta)
		}
		if err == nil {
			return meta, nil
		}
		if ctx.Err() != nil {
			return Metadata{}, fmt.Errorf("authority: discovery: %w", ctx.Err())
		}
		derr.attempts = append(derr.attempts, fmt.Sprintf("%s: %v", doc, err))
		derr.temporary = derr.temporary || temporary
	}
	return Metadata{}, derr
}

// discover runs the Client's discovery in its span (see "Telemetry" in
// the package documentation).
func (c *Client) discover(ctx context.Context) (Metadata, error) {
	ctx, span := c.startDiscovery(ctx)
	meta, err := discover(ctx, c.httpClient, c.cfg.Issuer, func(meta Metadata) error {
		if meta.TokenEndpoint == "" {
			return errors.New("no token_endpoint")
		}
		return nil
	}, c.inject)
	endSpan(span, outcomeOf(err), "")
	return meta, err
}

// fetchMetadata fetches and checks one metadata document. temporary says
// whether the failure may pass (network, 5xx, 429).
func fetchMetadata(ctx context.Context, client *http.Client, issuer, doc string, inject func(context.Context, http.Header)) (meta Metadata, temporary bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, doc, nil)
	if err != nil {
		return Metadata{}, false, err
	}
	req.Header.Set("Accept", "application/json")
	if inject != nil {
		inject(ctx, req.Header)
	}
	resp, err := client.Do(req)
	if err != nil {
		return Metadata{}, true, fmt.Errorf("request failed: %w", errors.Unwrap(err))
	}
	body, readErr := readBody(resp)
	switch {
	case resp.StatusCode != http.StatusOK:
		temp := resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests
		return Metadata{}, temp, fmt.Errorf("HTTP %d", resp.StatusCode)
	case readErr != nil:
		return Metadata{}, true, readErr
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return Metadata{}, false, fmt.Errorf("content type %q is not JSON", sanitize(mt, maxCode, nil))
	}
	if err := json.Unmarshal(body, &meta); err != nil {
		return Metadata{}, false, errors.New("document is not valid JSON")
	}
	if meta.Issuer != issuer {
		return Metadata{}, false, fmt.Errorf("issuer %q does not match the configured %q", sanitize(meta.Issuer, 200, nil), issuer)
	}
	for _, ep := range []struct{ name, url string }{
		{"token_endpoint", meta.TokenEndpoint},
		{"jwks_uri", meta.JWKSURI},
		{"introspection_endpoint", meta.IntrospectionEndpoint},
	} {
		if ep.url == "" {
			continue
		}
		if err := checkEndpointURL(ep.url); err != nil {
			return Metadata{}, false, fmt.Errorf("%s: %w", ep.name, err)
		}
		if strings.HasPrefix(issuer, "https:") && !strings.HasPrefix(ep.url, "https:") {
			return Metadata{}, false, fmt.Errorf("%s must use https when the issuer does", ep.name)
		}
	}
	return meta, false, nil
}
