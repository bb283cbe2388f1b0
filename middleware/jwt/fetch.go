package jwt

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// maxBody bounds every body read from the authorization server: 1 MiB.
const maxBody = 1 << 20

// getJSON fetches u with GET and returns its body, read up to maxBody. Errors
// name the URL without its query (which could carry credentials).
func getJSON(ctx context.Context, client *http.Client, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("jwt: GET %s: %w", redact(u), err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("jwt: GET %s: %w", redact(u), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
		return nil, fmt.Errorf("jwt: GET %s: HTTP %d", redact(u), resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("jwt: GET %s: reading body: %w", redact(u), err)
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("jwt: GET %s: body exceeds %d bytes", redact(u), maxBody)
	}
	return body, nil
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
