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
	reply, sentAt, sent, err := c.send(ctx, grantName(grant), ep.meta.TokenEndpoint, form, ep)
	if err != nil {
		return nil, reply.status, err
	}
	secrets = append(secrets, sent...)
	tok, err := reply.token(sentAt, c.cfg.DefaultLifetime, c.now, secrets)
	if err != nil {
		if ae, ok := err.(*Error); ok {
			ae.Grant = grant
			if ae.Claims != "" {
				ae.AuthorizationURI = challengeURI(ep.meta.AuthorizationEndpoint)
			}
		}
		return nil, reply.status, err
	}
	return tok, reply.status, nil
}

// send posts form to endpointURL, authenticated by ep's method (whose
// assertions name ep.meta.TokenEndpoint as their audience), with the
// propagator's headers, and reads the reply; what names the request in
// errors ("token exchange", "introspection"). It returns the reply, when
// the request was sent, and every form a credential of the client was
// sent in: its secret or assertion in the form, and the whole
// Authorization value with its base64 part (which encodes the secret), for
// redaction from what the reply puts into an error. The error, when there
// was no usable reply, names what and wraps the cause; reply.status is the
// reply's HTTP status, 0 when there was none.
func (c *Client) send(ctx context.Context, what, endpointURL string, form url.Values, ep *endpoint) (reply response, sentAt time.Time, credentials []string, _ error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpointURL, nil)
	if err != nil {
		return reply, sentAt, nil, fmt.Errorf("authority: %s: building request: %w", what, err)
	}
	if err := c.authenticate(req, form, ep); err != nil {
		return reply, sentAt, nil, err
	}
	body := form.Encode()
	req.Body = io.NopCloser(strings.NewReader(body))
	req.ContentLength = int64(len(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	c.inject(ctx, req.Header)

	sentAt = c.now()
	resp, err := c.httpClient.Do(req)
	if err != nil {
		// *url.Error names the endpoint, which holds no secret; the form
		// travels in the body and is never part of the message.
		return reply, sentAt, nil, fmt.Errorf("authority: %s: %w", what, err)
	}
	raw, readErr := readBody(resp)
	reply = response{
		status:      resp.StatusCode,
		contentType: resp.Header.Get("Content-Type"),
		retryAfter:  resp.Header.Get("Retry-After"),
		body:        raw,
		tooLarge:    readErr == errBodyTooLarge,
		readErr:     readErr,
	}
	if readErr != nil && ctx.Err() != nil {
		return reply, sentAt, nil, fmt.Errorf("authority: %s: %w", what, ctx.Err())
	}
	auth := req.Header.Get("Authorization")
	_, basic, _ := strings.Cut(auth, " ")
	return reply, sentAt, []string{c.cfg.ClientSecret, form.Get("client_assertion"), auth, basic}, nil
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
