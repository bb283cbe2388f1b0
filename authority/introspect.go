package authority

import (
	"context"
	"errors"
	"net/url"
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
	// The assertion's audience: the issuer, else the token endpoint (see
	// Introspect). authenticate reads it from the endpoint it is given.
	aud := ep.meta.Issuer
	if aud == "" {
		aud = ep.meta.TokenEndpoint
	}
	reply, _, credentials, err := c.send(ctx, "introspection", endpointURL, form, &endpoint{meta: Metadata{TokenEndpoint: aud}, method: ep.method})
	if err != nil {
		return nil, reply.status, err
	}
	in, err := reply.introspection(c.now, append([]string{token}, credentials...))
	if err != nil {
		if ae, ok := err.(*Error); ok {
			ae.Grant = GrantIntrospection
		}
		return nil, reply.status, err
	}
	return in, reply.status, nil
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
	forms, err := r.unusable("introspection", now, secrets)
	if err != nil {
		return nil, err
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
