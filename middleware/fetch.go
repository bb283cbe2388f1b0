package middleware

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// maxBody bounds every body read from the authorization server: 1 MiB.
const maxBody = 1 << 20

// errNotFound marks a 404 from a discovery document, so the next well-known
// location can be tried.
var errNotFound = errors.New("not found")

// getJSON fetches u with GET and returns its body, read up to maxBody. Errors
// name the URL without its query (which could carry credentials).
func getJSON(ctx context.Context, client *http.Client, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("middleware: GET %s: %w", redact(u), err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("middleware: GET %s: %w", redact(u), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
		err := fmt.Errorf("middleware: GET %s: HTTP %d", redact(u), resp.StatusCode)
		if resp.StatusCode == http.StatusNotFound {
			err = fmt.Errorf("%w (%w)", err, errNotFound)
		}
		return nil, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("middleware: GET %s: reading body: %w", redact(u), err)
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("middleware: GET %s: body exceeds %d bytes", redact(u), maxBody)
	}
	return body, nil
}

// discoverJWKS finds the jwks_uri of issuer from its OpenID Connect discovery
// document (issuer + "/.well-known/openid-configuration"), or, when that is not
// found, from its RFC 8414 metadata ("/.well-known/oauth-authorization-server"
// inserted before the issuer's path). The document's issuer must equal issuer
// exactly (RFC 8414 §3.3, OpenID Connect Discovery §4.3).
func discoverJWKS(ctx context.Context, client *http.Client, issuer string) (string, error) {
	iu, err := url.Parse(issuer)
	if err != nil || (iu.Scheme != "https" && iu.Scheme != "http") || iu.Host == "" || iu.RawQuery != "" || iu.Fragment != "" {
		return "", fmt.Errorf("middleware: issuer %q is not an absolute http(s) URL without query or fragment", issuer)
	}
	oidc := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	rfc := *iu
	rfc.Path = "/.well-known/oauth-authorization-server" + strings.TrimSuffix(iu.Path, "/")
	rfc.RawPath = ""

	var errs []error
	for _, u := range []string{oidc, rfc.String()} {
		body, err := getJSON(ctx, client, u)
		if err != nil {
			errs = append(errs, err)
			if errors.Is(err, errNotFound) {
				continue
			}
			break
		}
		var meta struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		if err := json.Unmarshal(body, &meta); err != nil {
			return "", fmt.Errorf("middleware: discovery document %s: %w", redact(u), err)
		}
		if meta.Issuer != issuer {
			return "", fmt.Errorf("middleware: discovery document %s names issuer %q, want %q", redact(u), meta.Issuer, issuer)
		}
		if err := checkHTTPURL(meta.JWKSURI); err != nil {
			return "", fmt.Errorf("middleware: discovery document %s: jwks_uri: %w", redact(u), err)
		}
		return meta.JWKSURI, nil
	}
	return "", fmt.Errorf("middleware: discovery for issuer %q failed: %w", issuer, errors.Join(errs...))
}

func checkHTTPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("invalid URL: %w", err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", redact(s))
	}
	return nil
}

// redact drops the query and user info of a URL for error messages.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "<invalid URL>"
	}
	u.User = nil
	u.RawQuery = ""
	u.Fragment = ""
	return u.String()
}
