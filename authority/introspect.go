package authority

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// ErrNoIntrospectionEndpoint is the error of [Client.Introspect] when the
// Client knows no introspection endpoint: neither
// [Config.IntrospectionURL] nor the discovered metadata's
// "introspection_endpoint" names one. A Client configured with TokenURL
// makes no discovery, so it needs IntrospectionURL. It is permanent.
var ErrNoIntrospectionEndpoint = errors.New("authority: no introspection endpoint (set Config.IntrospectionURL, or an Issuer whose metadata has introspection_endpoint)")

// GrantIntrospection is the [Error.Grant] of a failed [Client.Introspect]
// and the tokenexchange.grant attribute value ("introspection") of its
// duration. It is not an OAuth grant type: introspection is no grant.
const GrantIntrospection = "introspection"

// TokenTypeHintAccessToken and TokenTypeHintRefreshToken are the
// token_type_hint values of RFC 7009 §2.1, which RFC 7662 §2.1 reuses.
const (
	TokenTypeHintAccessToken  = "access_token"
	TokenTypeHintRefreshToken = "refresh_token"
)

// Introspect asks the authorization server's introspection endpoint about
// token (RFC 7662 §2.1): a POST of token and, when hint is not empty,
// token_type_hint, authenticated as the client by the same method as its
// token requests (client_secret_basic, client_secret_post,
// private_key_jwt, or none). It takes the token as a [SubjectToken],
// the value the inbound middleware holds, so that the token travels in a
// type that never prints it; [NewSubjectToken] makes one from a string.
//
// A private_key_jwt assertion for introspection names as its audience the
// authorization server's issuer identifier (the recommendation of the
// RFC 7523 update against audience injection, which Keycloak and ZITADEL
// accept), or the token endpoint when the Client has no issuer, as its
// token requests do.
//
// The answer is an [*Introspection] whether the token is active or not; an
// inactive token is not an error.
//
// Errors: [ErrNoIntrospectionEndpoint]; a discovery failure when the
// endpoint is not known yet (see [Client.Metadata]); an [*Error] with
// Grant [GrantIntrospection] when the endpoint answers anything but 2xx
// (401 or 403: the client's credentials are refused, permanent; 5xx, 408
// and 429 temporary, with the RetryAfter the server sent), or a 2xx reply
// that is not a JSON object with a boolean "active" (Malformed, which for
// introspection is temporary: an error page in front of the endpoint);
// a network failure, timeout or cut-off reply, wrapped; ctx's error,
// wrapped, when ctx ends; the Signer's error, wrapped. No error holds the
// token. The reply is read up to 1 MiB; redirects are never followed.
func (c *Client) Introspect(ctx context.Context, token SubjectToken, hint string) (*Introspection, error) {
	if c.discovering == nil {
		return nil, errNotNew
	}
	if token.IsZero() {
		return nil, errors.New("authority: introspection: the token is empty")
	}
	start := time.Now()
	ctx, span := c.startIntrospect(ctx)
	in, status, err := c.introspect(ctx, span, token.Value(), hint)
	c.endIntrospect(ctx, span, time.Since(start).Seconds(), status, err)
	return in, err
}

// introspect does the work of Introspect; status is the reply's HTTP
// status, 0 when there was none.
func (c *Client) introspect(ctx context.Context, span trace.Span, token, hint string) (_ *Introspection, status int, _ error) {
	endpointURL, ep, err := c.introspectionEndpoint(ctx)
	if err != nil {
		return nil, 0, err
	}
	span.SetAttributes(attrServerAddr.String(hostOf(endpointURL)))
	form := url.Values{"token": {token}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpointURL, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("authority: introspection: building request: %w", err)
	}
	// The assertion's audience: the issuer, else the token endpoint (see
	// Introspect). authenticate reads it from the endpoint it is given.
	aud := ep.meta.Issuer
	if aud == "" {
		aud = ep.meta.TokenEndpoint
	}
	if err := c.authenticate(req, form, &endpoint{meta: Metadata{TokenEndpoint: aud}, method: ep.method}); err != nil {
		return nil, 0, err
	}
	body := form.Encode()
	req.Body = io.NopCloser(strings.NewReader(body))
	req.ContentLength = int64(len(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	c.inject(ctx, req.Header)

	resp, err := c.httpClient.Do(req)
	if err != nil {
		// *url.Error names the endpoint, which holds no secret; the token
		// travels in the body and is never part of the message.
		return nil, 0, fmt.Errorf("authority: introspection: %w", err)
	}
	raw, readErr := readBody(resp)
	if readErr != nil && ctx.Err() != nil {
		return nil, resp.StatusCode, fmt.Errorf("authority: introspection: %w", ctx.Err())
	}
	auth := req.Header.Get("Authorization")
	_, basic, _ := strings.Cut(auth, " ")
	reply := response{
		status:      resp.StatusCode,
		contentType: resp.Header.Get("Content-Type"),
		retryAfter:  resp.Header.Get("Retry-After"),
		body:        raw,
		tooLarge:    readErr == errBodyTooLarge,
		readErr:     readErr,
	}
	in, err := reply.introspection(c.now, []string{token, c.cfg.ClientSecret, form.Get("client_assertion"), auth, basic})
	if err != nil {
		if ae, ok := err.(*Error); ok {
			ae.Grant = GrantIntrospection
		}
		return nil, resp.StatusCode, err
	}
	return in, resp.StatusCode, nil
}

// IntrospectionEndpoint returns the URL [Client.Introspect] posts to:
// [Config.IntrospectionURL], or the discovered "introspection_endpoint",
// running discovery if it has not run yet. A validator calls it at startup
// to report a misconfiguration early.
//
// Errors: [ErrNoIntrospectionEndpoint], or a discovery failure as
// [Client.Metadata] returns it.
func (c *Client) IntrospectionEndpoint(ctx context.Context) (string, error) {
	u, _, err := c.introspectionEndpoint(ctx)
	return u, err
}

// introspectionEndpoint returns the introspection endpoint, configured or
// discovered, and the resolved token endpoint (for the authentication
// method and the assertion's audience).
func (c *Client) introspectionEndpoint(ctx context.Context) (string, *endpoint, error) {
	ep, err := c.resolve(ctx)
	if err != nil {
		return "", nil, err
	}
	switch {
	case c.cfg.IntrospectionURL != "":
		return c.cfg.IntrospectionURL, ep, nil
	case ep.meta.IntrospectionEndpoint != "":
		return ep.meta.IntrospectionEndpoint, ep, nil
	}
	return "", nil, ErrNoIntrospectionEndpoint
}

// introspection turns the reply into an Introspection or an error, as
// token does for token responses. secrets are the credentials the
// request carried (the introspected token first).
func (r response) introspection(now func() time.Time, secrets []string) (*Introspection, error) {
	if r.readErr != nil && !r.tooLarge {
		return nil, fmt.Errorf("authority: reading introspection response (HTTP %d): %w", r.status, r.readErr)
	}
	success := r.status >= 200 && r.status < 300
	if r.tooLarge {
		return nil, &Error{StatusCode: r.status, Malformed: success, ContentType: mediaType(r.contentType),
			Description: fmt.Sprintf("body exceeds %d bytes", maxResponseBytes), RetryAfter: parseRetryAfter(r.retryAfter, now)}
	}
	forms := credentialForms(secrets)
	if !success {
		return nil, r.refusal(now, forms)
	}
	in, err := parseIntrospection(r.body, mediaType(r.contentType))
	if err != nil {
		if e := r.refusal(now, forms); e.Code != "" {
			return nil, e
		}
		// A 2xx body is never excerpted: it describes a token.
		return nil, &Error{StatusCode: r.status, Malformed: true, ContentType: mediaType(r.contentType), Description: err.Error(),
			RetryAfter: parseRetryAfter(r.retryAfter, now)}
	}
	return in, nil
}
