package outbound

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	"github.com/go-tokenexchange/tokenexchange/middleware"
)

// Transport is an [http.RoundTripper] that adds to each request the token
// its route calls for. It is safe for concurrent use. Create it with
// [New]; the zero Transport has no routes and refuses every request.
//
// The destination of a request is its URL (the server the connection goes
// to), not its Host header.
//
// An Authorization header set by the caller is left alone: the request is
// sent with it, unchanged, and is not retried on 401. There is one
// exception: a header that carries the subject token itself, as
// [net/http/httputil.ReverseProxy] copies it from the incoming request, is
// treated as absent and replaced by what the route calls for, so that the
// subject token reaches only [ModePassThrough] routes.
type Transport struct {
	base          http.RoundTripper // nil means http.DefaultTransport
	routes        table
	allowUnrouted bool
	log           *slog.Logger // nil means silent
}

var _ http.RoundTripper = (*Transport)(nil)

// New validates opts, prepares every route's target and returns the
// Transport. It makes no request.
func New(opts Options) (*Transport, error) {
	routes, err := newTable(opts.Routes, opts.Exchanger)
	if err != nil {
		return nil, err
	}
	return &Transport{
		base:          opts.Base,
		routes:        routes,
		allowUnrouted: opts.AllowUnrouted,
		log:           opts.Logger,
	}, nil
}

// RoundTrip sends req with the token of the route that names its URL. It
// never modifies req, and closes req.Body on every path, as the
// [http.RoundTripper] contract asks. A request that cannot get its token is
// not sent: the error is a [*RouteError] or a [*TokenError].
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	subject, hasSubject := middleware.TokenFromContext(ctx)
	authz, hasAuthz := req.Header["Authorization"]
	echoed := hasAuthz && hasSubject && carries(authz, subject)

	r := t.routes.match(req.URL)
	if r == nil {
		if !t.allowUnrouted {
			closeBody(req)
			err := routeError(req.URL)
			t.logAttrs(ctx, slog.LevelWarn, "outbound: request refused", slog.String("method", req.Method), slog.Any("error", err))
			return nil, err
		}
		return t.send(req, echoed, "")
	}
	if hasAuthz && !echoed {
		return t.baseRT().RoundTrip(req) // the caller's own header
	}

	switch r.mode {
	case ModeNone:
		return t.send(req, echoed, "")
	case ModePassThrough:
		if !hasSubject {
			return nil, t.refuse(req, r, ErrNoSubjectToken)
		}
		return t.send(req, true, subject)
	}
	if r.mode == ModeExchange && !hasSubject {
		return nil, t.refuse(req, r, ErrNoSubjectToken)
	}
	tok, err := r.token(ctx, subject)
	if err != nil {
		return nil, t.refuse(req, r, err)
	}
	resp, err := t.baseRT().RoundTrip(withToken(req, tok.AccessToken))
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	return t.retry(req, r, subject, tok, resp)
}

// send passes req on: as it is when replace is false, otherwise as a copy
// whose Authorization header is token, or absent when token is "".
func (t *Transport) send(req *http.Request, replace bool, token string) (*http.Response, error) {
	if !replace {
		return t.baseRT().RoundTrip(req)
	}
	return t.baseRT().RoundTrip(withToken(req, token))
}

// refuse closes req's body, logs and returns the TokenError for cause.
func (t *Transport) refuse(req *http.Request, r *route, cause error) error {
	closeBody(req)
	err := &TokenError{Route: r.name, Mode: r.mode, Err: cause}
	t.logAttrs(req.Context(), slog.LevelWarn, "outbound: request refused", slog.String("method", req.Method), slog.String("route", r.name), slog.Any("error", err))
	return err
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

// withToken returns a shallow copy of req whose Authorization header is
// "Bearer token", or absent when token is "". req itself is not modified.
func withToken(req *http.Request, token string) *http.Request {
	out := new(http.Request)
	*out = *req
	out.Header = headerWith(req.Header, token)
	return out
}

// headerWith returns a copy of h whose Authorization is "Bearer token", or
// absent when token is "". Like [http.Header.Clone], the values of every
// field share one backing array, which also holds the new Authorization
// value: three allocations in all, whatever the number of fields.
func headerWith(h http.Header, token string) http.Header {
	n := 0
	for k, vv := range h {
		if k != "Authorization" {
			n += len(vv)
		}
	}
	if token != "" {
		n++
	}
	values := make([]string, n)
	out := make(http.Header, len(h)+1)
	for k, vv := range h {
		if k == "Authorization" {
			continue
		}
		if vv == nil {
			out[k] = nil // as Clone does
			continue
		}
		m := copy(values, vv)
		out[k] = values[:m:m]
		values = values[m:]
	}
	if token != "" {
		values[0] = "Bearer " + token
		out["Authorization"] = values[:1:1]
	}
	return out
}

// carries reports whether any of the header values holds token.
func carries(values []string, token string) bool {
	for _, v := range values {
		if strings.Contains(v, token) {
			return true
		}
	}
	return false
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}
