package middleware

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// DefaultMaxTokenSize is the largest token [Bearer] accepts unless
// [Options.MaxTokenSize] says otherwise: 16 KiB.
const DefaultMaxTokenSize = 16 << 10

// Options configures [Bearer]. The zero value is valid: a required bearer token
// of at most 16 KiB, passed on unvalidated (opaque), refusals answered with
// [WriteError] under realm "api".
type Options struct {
	// Realm is the realm of the WWW-Authenticate challenge. Default "api".
	Realm string

	// MaxTokenSize is the largest token accepted, in bytes; larger ones are
	// refused with 400 invalid_request. Default [DefaultMaxTokenSize].
	MaxTokenSize int

	// Optional passes requests without an Authorization header on to the next
	// handler, anonymous: TokenFromContext reports false. A header that is
	// present but empty, malformed, of another scheme or invalid is still refused.
	Optional bool

	// Validator, if set, validates every token and the middleware stores the
	// claims it returns (see [ClaimsFromContext]); package middleware/jwt
	// provides one for JWTs. If nil, tokens are opaque and pass on unchanged.
	Validator Validator

	// RequiredScopes must all be among the validated token's
	// [Claims.Scopes] (its "scope" and "scp" claims), or the request is
	// refused with 403 insufficient_scope. Requires Validator.
	RequiredScopes []string

	// ResourceMetadata, when set, is the URL of the RFC 9728 metadata of
	// the protected resource ([ProtectedResourceHandler.URL], or
	// [ProtectedResourceMetadataURL] of its identifier): every challenge
	// the default ErrorResponder writes (401s and 403 insufficient_scope)
	// then carries it as resource_metadata="<url>" (RFC 9728 §5.1), which
	// MCP clients require to find the authorization server. It must be an
	// absolute https URL without user information, as a [ProtectedResource]
	// identifier is (http only for a loopback host, for tests and local
	// runs); [Bearer] panics otherwise.
	ResourceMetadata string

	// ErrorResponder writes the response for a refusal; err is an [*Error].
	// If nil, [Challenge.WriteError] with Realm and ResourceMetadata is
	// used.
	ErrorResponder func(w http.ResponseWriter, r *http.Request, err error)

	// OnRefusal, if set, is called for every refusal before the response is
	// written, for logging or metrics. err is an [*Error] and never contains the
	// token; when the Validator returned an error that is not an *Error, that
	// error is the *Error's Err (its text is for logs, never for the client).
	// r is a shallow copy of the request with the credentials redacted:
	// its Header is a copy in which a present Authorization header is replaced
	// by the single value "Bearer [redacted]", and an access_token parameter in
	// the URL (and RequestURI) or in an already parsed form is replaced by
	// "[redacted]". Everything else (context, body, ...) is shared with the
	// real request. The copy is made only when OnRefusal is set.
	OnRefusal func(r *http.Request, err error)

	// MeterProvider receives the middleware's metrics: requests by
	// outcome and refusals by reason (see "Telemetry" in the package
	// documentation). If nil, otel.GetMeterProvider(), a no-op until the
	// application installs one. A refusal also adds an event to the span
	// of the request's context, whatever the MeterProvider.
	MeterProvider metric.MeterProvider
}

// Bearer returns middleware that authenticates requests with an OAuth 2.0 bearer
// token (RFC 6750) and stores the token (and, with a Validator, its claims) in
// the request context for [TokenFromContext], [SubjectFromContext] and
// [ClaimsFromContext].
//
// A refusal is answered by Options.ErrorResponder (default [WriteError])
// with an [*Error] wrapping ErrMissingToken or ErrUnsupportedScheme (401),
// ErrMalformedHeader, ErrMultipleHeaders, ErrTokenTooLarge or
// ErrTokenInQuery (400), ErrInsufficientScope (403), or what the Validator
// returned (see [Validator]: 401, or 503 for [ErrUnavailable]).
//
// Only the Authorization header is accepted (RFC 6750 §2.1). A request whose
// query string has an access_token parameter is refused with 400
// invalid_request, as is one whose form body was already parsed (r.PostForm is
// non-nil) and has one; the body itself is never read, so an unparsed form body
// is left to the handler.
//
// Bearer panics, with a message starting "middleware:", on options that can
// only be a programming error: a negative MaxTokenSize, RequiredScopes without
// a Validator, a scope that is not a valid RFC 6749 scope-token, or a
// ResourceMetadata that is not an absolute http or https URL.
func Bearer(opts Options) func(http.Handler) http.Handler {
	b := newBearer(opts)
	return func(next http.Handler) http.Handler {
		if next == nil {
			panic("middleware: Bearer: nil next handler")
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b.serve(w, r, next)
		})
	}
}

// bearer is the precomputed form of Options.
type bearer struct {
	realm     string
	maxSize   int
	optional  bool
	validator Validator
	scopes    []string
	scopeList string // scopes joined by spaces, for the challenge
	respond   func(http.ResponseWriter, *http.Request, error)
	onRefusal func(*http.Request, error)
	tel       *telemetry
}

func newBearer(opts Options) *bearer {
	if opts.MaxTokenSize < 0 {
		panic("middleware: Options.MaxTokenSize must not be negative")
	}
	if len(opts.RequiredScopes) > 0 && opts.Validator == nil {
		panic("middleware: Options.RequiredScopes needs a Validator: opaque tokens have no scopes")
	}
	for _, s := range opts.RequiredScopes {
		if !isScopeToken(s) {
			panic("middleware: Options.RequiredScopes: invalid scope " + strconv.Quote(s))
		}
	}
	b := &bearer{
		realm:     cmp.Or(opts.Realm, "api"),
		maxSize:   cmp.Or(opts.MaxTokenSize, DefaultMaxTokenSize),
		optional:  opts.Optional,
		validator: opts.Validator,
		scopes:    append([]string(nil), opts.RequiredScopes...),
		scopeList: strings.Join(opts.RequiredScopes, " "),
		respond:   opts.ErrorResponder,
		onRefusal: opts.OnRefusal,
		tel:       newTelemetry(opts.MeterProvider),
	}
	if opts.ResourceMetadata != "" {
		if err := checkSecureURL(opts.ResourceMetadata); err != nil {
			panic("middleware: Options.ResourceMetadata must be an absolute https URL (http only for a loopback host): " + err.Error())
		}
	}
	if b.respond == nil {
		c := Challenge{Realm: b.realm, ResourceMetadata: opts.ResourceMetadata}
		b.respond = func(w http.ResponseWriter, _ *http.Request, err error) { c.WriteError(w, err) }
	}
	return b
}

func (b *bearer) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if e := tokenOutsideHeader(r); e != nil {
		b.refuse(w, r, e, reasonTokenInQuery)
		return
	}
	values := r.Header.Values("Authorization")
	if len(values) == 0 && b.optional {
		// Mark the context as inbound, with no subject: an outbound
		// transport then answers 401, not 500, for a route that needs one.
		b.tel.requests.Add(r.Context(), 1, b.tel.requestOpts[outcomeAnonymous]...)
		next.ServeHTTP(w, r.WithContext(withAuth(r.Context(), authority.SubjectToken{}, nil)))
		return
	}
	ctx, e, why := b.authenticate(r.Context(), values)
	if e != nil {
		b.refuse(w, r, e, why)
		return
	}
	b.tel.requests.Add(r.Context(), 1, b.tel.requestOpts[outcomeAccepted]...)
	next.ServeHTTP(w, r.WithContext(ctx))
}

// refuse counts the refusal, adds an event naming why to the span of the
// request's context (if it has one), and answers it.
func (b *bearer) refuse(w http.ResponseWriter, r *http.Request, err *Error, why reason) {
	ctx := r.Context()
	b.tel.requests.Add(ctx, 1, b.tel.requestOpts[outcomeRefused]...)
	b.tel.refusals.Add(ctx, 1, b.tel.refusalOpts[why]...)
	trace.SpanFromContext(ctx).AddEvent(refusedEvent, b.tel.eventOpts[why]...)
	if b.onRefusal != nil {
		b.onRefusal(redactRequest(r), err)
	}
	b.respond(w, r, err)
}

// redacted replaces credentials in the request given to Options.OnRefusal.
const redacted = "[redacted]"

// redactRequest returns a shallow copy of r without its bearer credentials: the
// Authorization header, and an access_token in the query or a parsed form.
func redactRequest(r *http.Request) *http.Request {
	r2 := new(http.Request)
	*r2 = *r
	r2.Header = make(http.Header, len(r.Header))
	had := false
	for k, vs := range r.Header {
		if strings.EqualFold(k, "Authorization") {
			had = true
			continue
		}
		r2.Header[k] = slices.Clone(vs)
	}
	if had {
		r2.Header.Set("Authorization", "Bearer "+redacted)
	}
	if r.URL != nil && hasQueryKey(r.URL.RawQuery, accessTokenParam) {
		u := *r.URL
		u.RawQuery = redactQuery(u.RawQuery)
		r2.URL = &u
		r2.RequestURI = u.RequestURI()
	}
	r2.Form = redactValues(r.Form)
	r2.PostForm = redactValues(r.PostForm)
	return r2
}

// redactQuery replaces the value of every access_token parameter in a raw
// query, finding them as hasQueryKey does.
func redactQuery(raw string) string {
	parts := strings.Split(raw, "&")
	for i, part := range parts {
		if hasQueryKey(part, accessTokenParam) {
			parts[i] = accessTokenParam + "=" + url.QueryEscape(redacted)
		}
	}
	return strings.Join(parts, "&")
}

// redactValues returns v, or a copy with access_token redacted if it has one.
func redactValues(v url.Values) url.Values {
	if !v.Has(accessTokenParam) {
		return v
	}
	c := make(url.Values, len(v))
	for k, vs := range v {
		c[k] = slices.Clone(vs)
	}
	c.Set(accessTokenParam, redacted)
	return c
}
