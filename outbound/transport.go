package outbound

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/go-tokenexchange/tokenexchange/middleware"
)

// Transport is an [http.RoundTripper] that adds to each request the token
// its route calls for. It is safe for concurrent use. Create it with
// [New]; the zero Transport has no routes and refuses every request.
//
// The destination of a request is its URL (the server the connection goes
// to). A routed request whose Host header names another host or port is
// refused ([ErrHostMismatch]), and so is one whose path could reach another
// route's destination on the server ([ErrAmbiguousPath]).
//
// An Authorization header (under any spelling of the name) set by the
// caller on a routed request is left alone: the request is sent with it,
// unchanged, and is not retried on 401. There are two exceptions. A header
// with no value, or only empty values, is treated as absent. A header whose
// value is the subject token itself ("Bearer" in any case, one or more
// spaces or tabs, the token; or the bare token), as
// [net/http/httputil.ReverseProxy] copies it from the incoming request, is
// treated as absent and replaced by what the route calls for, so that the
// subject token reaches only [ModePassThrough] routes. A request sent
// without a route ([Options.AllowUnrouted]) never carries an Authorization
// header: whatever the caller set is removed, since the transport cannot
// tell the caller's token from its own without a subject in the context.
// To send a header of the caller's own to a host, name the host in a
// [ModeNone] route.
type Transport struct {
	base          http.RoundTripper // nil means http.DefaultTransport
	routes        table
	allowUnrouted bool
	log           *slog.Logger    // nil means silent
	refusals      *refusals       // nil when the refusal windows are off
	shared        *sharedRefusals // nil without a RefusalMemory or windows
	stats         counters
	tel           *telemetry // nil in the zero Transport
}

var _ http.RoundTripper = (*Transport)(nil)

// New validates opts, prepares every route's target and returns the
// Transport. It makes no request.
//
// Errors: a configuration error (no sentinel; fix the configuration)
// naming the route by its index and URL and what is wrong with it: a
// URL that is not a clean http or https URL (see [Route.URL]), two routes
// for the same destination, a missing or unknown Mode, an exchange route
// without an [Exchanger] or whose Target names no audience or resource
// (an RFC 8693 one; an [exchange.DialectEntraOBO] one needs a scope)
// (or that [exchange.Target.Prepare] refuses), an own-token route without
// Tokens, Target, Exchanger or Tokens on a route of a mode that does not
// use them; and, unless [Options.AllowPlaintextProxy], an "http" route
// whose token the base transport would send to a forward proxy in clear
// text, or whose proxy the base transport's Proxy function fails to
// report.
func New(opts Options) (*Transport, error) {
	routes, err := newTable(opts.Routes, opts.Exchanger)
	if err != nil {
		return nil, err
	}
	if isNil(opts.Base) {
		opts.Base = nil // a nil *http.Transport, say: http.DefaultTransport
	}
	if !opts.AllowPlaintextProxy {
		if err := checkPlaintextProxy(opts.Routes, opts.Base); err != nil {
			return nil, err
		}
	}
	t := &Transport{
		base:          opts.Base,
		routes:        routes,
		allowUnrouted: opts.AllowUnrouted,
		log:           opts.Logger,
		refusals:      newRefusals(opts.RefusalWindow, opts.Now),
		tel:           newTelemetry(opts.MeterProvider, routes),
	}
	if t.refusals != nil {
		t.shared = newSharedRefusals(opts.RefusalMemory, opts.Logger, opts.Now)
	}
	return t, nil
}

// RoundTrip sends req with the token of the route that names its URL. It
// never modifies req, and closes req.Body on every path, as the
// [http.RoundTripper] contract asks.
//
// Errors: a request that cannot get its token is not sent, and the error
// is
//
//   - a [*RouteError], matching [ErrNoRoute]: no route names the URL
//     (unless [Options.AllowUnrouted]); with Reason [ErrAmbiguousPath]:
//     the path could reach another route; with Reason [ErrHostMismatch]:
//     the Host header names another destination;
//   - a [*TokenError] wrapping [ErrNoSubjectToken] (an anonymous caller),
//     [ErrNoInboundContext] (a context not from the inbound request), the
//     [Exchanger]'s error (for [*exchange.Exchanger]: a wrapped
//     *[authority.Error], [exchange.ErrSubjectExpired],
//     [exchange.ErrSubjectInvalid], [exchange.ErrBusy],
//     [exchange.ErrClosed], a context error, ...) or the route's
//     [authority.TokenSource]'s error. After a downstream 401 whose one
//     retry could not get a fresh token, the 401 is discarded and such a
//     TokenError returned.
//
// Otherwise the base transport's error is returned as it is (the
// downstream unreachable, req's context ended). A response, whatever its
// status, comes with a nil error. [StatusFor] maps every error to a
// status.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	r, err := t.routes.match(req.URL)
	if err == nil && r != nil && !sameHost(req) {
		err = ErrHostMismatch
	}
	if err != nil || (r == nil && !t.allowUnrouted) {
		closeBody(req)
		t.countError(ctx, r, routeReason(err))
		err := routeError(req.URL, err)
		t.logAttrs(ctx, slog.LevelDebug, "outbound: request refused", slog.String("method", req.Method), slog.Any("error", err))
		return nil, err
	}
	subject, hasSubject := middleware.SubjectFromContext(ctx)
	field, present, echoed := inspectAuthorization(req.Header, subject.Value(), hasSubject)
	if r == nil {
		return t.send(req, field, "")
	}
	if present && !echoed {
		return t.baseRT().RoundTrip(req) // the caller's own header
	}

	switch r.mode {
	case ModeNone:
		return t.send(req, field, "")
	case ModePassThrough:
		if !hasSubject {
			return nil, t.noSubject(req, r)
		}
		return t.send(req, true, r.bearer(nil, subject.Value()))
	}
	if r.mode == ModeExchange && !hasSubject {
		return nil, t.noSubject(req, r)
	}
	tok, err := r.token(ctx, subject)
	if err != nil {
		return nil, t.refuse(req, r, err)
	}
	resp, err := t.baseRT().RoundTrip(withToken(req, r.bearer(tok, tok.AccessToken)))
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	return t.retry(req, r, subject, tok, resp)
}

// send passes req on: as it is when replace is false, otherwise as a copy
// without any Authorization field and, when value is not "", with
// Authorization: value.
func (t *Transport) send(req *http.Request, replace bool, value string) (*http.Response, error) {
	if !replace {
		return t.baseRT().RoundTrip(req)
	}
	return t.baseRT().RoundTrip(withToken(req, value))
}

// refuse closes req's body, logs and returns the TokenError for cause.
func (t *Transport) refuse(req *http.Request, r *route, cause error) error {
	closeBody(req)
	return t.tokenError(req.Context(), r, req, cause)
}

// noSubject refuses req, whose route r needs the caller's token and whose
// context holds none: [ErrNoSubjectToken] when the context went through
// the middleware (an anonymous caller), otherwise [ErrNoInboundContext],
// logged at Error (the handler did not build req with r.Context()).
func (t *Transport) noSubject(req *http.Request, r *route) error {
	ctx := req.Context()
	if middleware.IsInbound(ctx) {
		return t.refuse(req, r, ErrNoSubjectToken)
	}
	closeBody(req)
	t.countError(ctx, r, reasonNoInboundContext)
	t.logAttrs(ctx, slog.LevelError, "outbound: the request's context does not come from the inbound request (build the outgoing request with r.Context()); request refused",
		slog.String("method", req.Method), slog.String("route", r.label))
	return &TokenError{Route: r.name, Mode: r.mode, Actor: r.actor, Err: ErrNoInboundContext}
}

// tokenError logs and returns the TokenError for cause, of req (an HTTP
// request the Transport sends) or, when req is nil, of a [Destination]'s
// call made with ctx.
func (t *Transport) tokenError(ctx context.Context, r *route, req *http.Request, cause error) error {
	err := &TokenError{
		Route:          r.name,
		Mode:           r.mode,
		Actor:          r.actor,
		Err:            cause,
		callerDeadline: errors.Is(ctx.Err(), context.DeadlineExceeded) && errors.Is(cause, context.DeadlineExceeded),
	}
	reason := tokenReason(r.mode)
	if cause == ErrNoSubjectToken {
		reason = reasonNoSubjectToken
	}
	t.countError(ctx, r, reason)
	if req != nil {
		t.logAttrs(ctx, slog.LevelDebug, "outbound: request refused", slog.String("method", req.Method), slog.String("route", r.label), slog.Any("error", err))
	} else {
		t.logAttrs(ctx, slog.LevelDebug, "outbound: call refused", slog.String("route", r.label), slog.Any("error", err))
	}
	return err
}

// routeReason is the reason for a request the route table refused with
// err (nil: no route).
func routeReason(err error) errorReason {
	switch err {
	case nil:
		return reasonNoRoute
	case ErrAmbiguousPath:
		return reasonAmbiguousPath
	case ErrHostMismatch:
		return reasonHostMismatch
	}
	return reasonOther
}

// CloseIdleConnections closes the idle connections of the base transport
// when it has such a method. [http.Client.CloseIdleConnections] calls it.
func (t *Transport) CloseIdleConnections() {
	if ci, ok := t.baseRT().(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

func (t *Transport) baseRT() http.RoundTripper {
	if t.base != nil {
		return t.base
	}
	return http.DefaultTransport
}

func (t *Transport) logAttrs(ctx context.Context, level slog.Level, msg string, attrs ...slog.Attr) {
	if t.log != nil {
		t.log.LogAttrs(ctx, level, msg, attrs...)
	}
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}
