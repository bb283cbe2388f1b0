package jwt

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"go.opentelemetry.io/otel/propagation"
)

// maxBody bounds every body read from the authorization server: 1 MiB.
const maxBody = 1 << 20

// getJSON fetches u with GET and returns its body, read up to maxBody, and
// the status of the response (0 when there was none). prop injects the
// trace context of ctx into the request's header. Errors name the URL
// without its query (which could carry credentials).
func getJSON(ctx context.Context, client *http.Client, prop propagation.TextMapPropagator, u string) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("jwt: GET %s: %w", redact(u), err)
	}
	req.Header.Set("Accept", "application/json")
	prop.Inject(ctx, propagation.HeaderCarrier(req.Header))
	resp, err := client.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("jwt: GET %s: %w", redact(u), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
		return nil, resp.StatusCode, fmt.Errorf("jwt: GET %s: HTTP %d", redact(u), resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("jwt: GET %s: reading body: %w", redact(u), err)
	}
	if len(body) > maxBody {
		return nil, resp.StatusCode, fmt.Errorf("jwt: GET %s: body exceeds %d bytes", redact(u), maxBody)
	}
	return body, resp.StatusCode, nil
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
