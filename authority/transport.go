package authority

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// postForm sends one token request for grant and parses the reply. secrets
// are the credentials in form; they are redacted from anything the server
// echoes into an error. The request has its span, a child of the one in
// ctx, and its duration is recorded (see "Telemetry" in the package
// documentation).
func (c *Client) postForm(ctx context.Context, grant string, form url.Values, secrets ...string) (*Token, error) {
	if c.discovering == nil {
		return nil, errNotNew
	}
	start := time.Now()
	ctx, span := c.startToken(ctx, grant)
	tok, status, err := c.post(ctx, span, grant, form, secrets)
	c.endToken(ctx, span, grant, time.Since(start).Seconds(), status, err)
	return tok, err
}

// post does the work of postForm; status is the reply's HTTP status, 0
// when there was none.
func (c *Client) post(ctx context.Context, span trace.Span, grant string, form url.Values, secrets []string) (_ *Token, status int, _ error) {
	ep, err := c.resolve(ctx)
	if err != nil {
		return nil, 0, err
	}
	if ep.host != "" {
		span.SetAttributes(attrServerAddr.String(ep.host))
	}
	form.Set("grant_type", grant)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.meta.TokenEndpoint, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("authority: %s: building request: %w", grantName(grant), err)
	}
	if err := c.authenticate(req, form, ep); err != nil {
		return nil, 0, err
	}
	body := form.Encode()
	req.Body = io.NopCloser(strings.NewReader(body))
	req.ContentLength = int64(len(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	c.inject(ctx, req.Header)

	sentAt := c.now()
	resp, err := c.httpClient.Do(req)
	if err != nil {
		// *url.Error names the token endpoint, which holds no secret; the
		// form travels in the body and is never part of the message.
		return nil, 0, fmt.Errorf("authority: %s: %w", grantName(grant), err)
	}
	raw, readErr := readBody(resp)
	if readErr != nil && ctx.Err() != nil {
		return nil, resp.StatusCode, fmt.Errorf("authority: %s: %w", grantName(grant), ctx.Err())
	}
	// Every form a credential was sent in: the grant's own, the client's
	// secret or assertion in the form, and the whole Authorization value
	// with its base64 part (which encodes the client secret).
	auth := req.Header.Get("Authorization")
	_, basic, _ := strings.Cut(auth, " ")
	secrets = append(secrets, c.cfg.ClientSecret, form.Get("client_assertion"), auth, basic)
	reply := response{
		status:      resp.StatusCode,
		contentType: resp.Header.Get("Content-Type"),
		retryAfter:  resp.Header.Get("Retry-After"),
		body:        raw,
		tooLarge:    readErr == errBodyTooLarge,
		readErr:     readErr,
	}
	tok, err := reply.token(sentAt, c.cfg.DefaultLifetime, c.now, secrets)
	if err != nil {
		if ae, ok := err.(*Error); ok {
			ae.Grant = grant
			if ae.Claims != "" {
				ae.AuthorizationURI = challengeURI(ep.meta.AuthorizationEndpoint)
			}
		}
		return nil, resp.StatusCode, err
	}
	return tok, resp.StatusCode, nil
}

// errBodyTooLarge reports a body over maxResponseBytes.
var errBodyTooLarge = fmt.Errorf("body exceeds %d bytes", maxResponseBytes)

// readBody reads at most maxResponseBytes of resp's body, then drains a
// little more so the connection can be reused, and closes it.
func readBody(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxResponseBytes {
		return nil, errBodyTooLarge
	}
	_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
	return body, nil
}
