package outbound

import (
	"errors"
	"net/url"
)

// ErrNoRoute is matched by [errors.Is] for a request refused because no
// route names its destination. The request was not sent. Every
// [*RouteError] matches it, including those for [ErrAmbiguousPath] and
// [ErrHostMismatch].
var ErrNoRoute = errors.New("outbound: no route for the request URL")

// ErrAmbiguousPath is matched by [errors.Is] for a request refused because
// its URL names an origin (scheme, host, port) that has routes but its path
// may select another route, or none, on the server than the route table
// picks for it. The rule: the route chosen for the path as it is
// ([url.URL.Path], decoded) must also be the route chosen for every other
// plausible reading of it by the server or an intermediary, namely
//
//   - the path as sent, undecoded ([url.URL.EscapedPath]);
//   - the path decoded once more ("%2561" is sent, "%61" decoded, "a" to a
//     server that decodes twice), and any of these cut at a "?", "#" or
//     NUL that decoding produced;
//   - the path, and the path decoded once more, with the compatibility
//     forms of ASCII characters read as those, as a server applying NFKC
//     normalisation or Windows best-fit mapping reads them ("．．" is
//     "..", "／" and "∕" are "/", "＼", "∖" and "¥" are "\", "％" is "%",
//     then decoded: "％2F" is "/"; "ａｐｉ" is "api");
//   - each of those with "\" read as "/", with ";params" stripped from
//     every segment (as servlet containers do: "/billing/..;/orders"),
//     and with both;
//   - each of those cleaned ([path.Clean]: "//", "." and ".." resolved);
//
// and each reading is matched with and without regard to ASCII case. When
// one reading selects another route, or no route where the path itself
// takes one (or the reverse), the request is refused; when all agree (the
// same route, or no route at all), it is sent. So "/api/v4/projects/g%2Fp",
// "/items;jsessionid=...", "/files/report%2E2024.pdf" and "/api//x" go
// where they would anyway, while "/billing/..%2Forders/x",
// "/billing/..;/orders", "/%2561pi/v4/admin" (when "/api/v4/admin" has a
// route of its own) and "/Orders/x" (when only "/orders" has one) are
// refused. "OPTIONS *" takes the origin's route without a path prefix, if
// any. An opaque URL ([url.URL.Opaque]) other than "*" is refused. An
// origin whose only route has no path prefix refuses only opaque URLs:
// every reading of every path takes that route. The request was not sent,
// with a token or without, even with [Options.AllowUnrouted]. [StatusFor]
// maps it to 400.
var ErrAmbiguousPath = errors.New("outbound: ambiguous request path")

// ErrHostMismatch is matched by [errors.Is] for a request refused because a
// route names its URL but its Host header ([http.Request.Host]) names
// another host or port, as a Director-based
// [net/http/httputil.ReverseProxy] (NewSingleHostReverseProxy) leaves the
// caller's Host in place: a server or ingress routing on Host would hand
// the token to another service. The request was not sent. Build the proxy
// with [NewReverseProxy] (a Rewrite calling
// [net/http/httputil.ProxyRequest.SetURL], which sets the target's Host),
// or set the outgoing request's Host (ProxyRequest.Out.Host, or
// [http.Request.Host]) to the URL's host, or leave it empty. A routed
// request with a field named Host (in any case) in its Header or Trailer
// map is refused with it too: [net/http.Transport] writes a non-canonical
// one as a second Host line; set [http.Request.Host] instead.
var ErrHostMismatch = errors.New("outbound: the Host header names another destination than the URL: build the reverse proxy with outbound.NewReverseProxy, or set the outgoing request's Host (ProxyRequest.Out.Host, req.Host) to the URL's host or leave it empty")

// ErrNoSubjectToken is matched by [errors.Is] for a request refused
// because its route needs the inbound caller's token ([ModeExchange],
// [ModePassThrough]) and the request context, which went through the
// middleware's Bearer handler (or middleware.NewContext), holds none: an
// anonymous caller that the middleware's Optional let through. The
// request was not sent. [StatusFor] maps it to 401. A context that never
// went through the middleware gives [ErrNoInboundContext] instead.
var ErrNoSubjectToken = errors.New("outbound: no subject token in the request context")

// ErrNoInboundContext is matched by [errors.Is] for a request refused
// because its route needs the inbound caller's token ([ModeExchange],
// [ModePassThrough]) and its context does not come from an inbound
// request: it did not go through the middleware's Bearer handler, nor
// through middleware.NewContext. That is a programming error: a handler
// built its outgoing request with context.Background(), context.TODO() or
// another context not derived from the inbound request's r.Context(). The
// request was not sent; the [Transport]'s logger gets an Error line, and
// [StatusFor] maps it to 500 (not a 401 that would blame the caller).
var ErrNoInboundContext = errors.New("outbound: the request's context does not come from the inbound request: build it with r.Context()")

// RouteError reports a request refused by the route table: no route names
// its destination, or (Reason) one does but the request could reach
// another. It matches [ErrNoRoute] under [errors.Is], and Reason too.
type RouteError struct {
	// Origin is the request's scheme and host (with port when it had one);
	// never its path, query or user info.
	Origin string
	// Reason is nil when no route names the origin, otherwise
	// [ErrAmbiguousPath] or [ErrHostMismatch].
	Reason error
}

// Error names the destination without its path or query.
func (e *RouteError) Error() string {
	switch e.Reason {
	case nil:
		return "outbound: no route for " + e.Origin + " (request not sent)"
	case ErrAmbiguousPath:
		return "outbound: ambiguous path (another reading of it, decoded, undecoded, cleaned, without path parameters, ignoring case or with characters some server folds or drops, selects another route) for " + e.Origin + " (request not sent)"
	case ErrHostMismatch:
		return "outbound: the Host header names another destination than " + e.Origin + " (request not sent): build the reverse proxy with outbound.NewReverseProxy, or set the outgoing request's Host (ProxyRequest.Out.Host, req.Host) to the URL's host or leave it empty"
	}
	return "outbound: refused for " + e.Origin + ": " + e.Reason.Error() + " (request not sent)"
}

// Is reports whether target is [ErrNoRoute].
func (e *RouteError) Is(target error) bool { return target == ErrNoRoute }

// Unwrap returns Reason.
func (e *RouteError) Unwrap() error { return e.Reason }

func routeError(u *url.URL, reason error) error {
	if u == nil {
		return &RouteError{Origin: "a request without a URL", Reason: reason}
	}
	return &RouteError{Origin: u.Scheme + "://" + u.Host, Reason: reason}
}

// TokenError reports that the token for a request could not be obtained,
// so the request was not sent (or, after a downstream 401, not sent again:
// the 401 was discarded). Err is [ErrNoSubjectToken],
// [ErrNoInboundContext] or the error of the route's [Exchanger] or
// [authority.TokenSource], which wraps the *[authority.Error] when the
// authority refused; use [errors.Is] and [errors.As] on the TokenError
// itself, or [StatusFor].
type TokenError struct {
	// Route is the URL of the route that matched, as configured.
	Route string
	// Mode is that route's mode.
	Mode Mode
	// Actor reports that the route's [exchange.Target] has an Actor: its
	// exchanges send this service's actor token too, so an invalid_request
	// may be a refusal of that token rather than the caller's.
	Actor bool
	// Err is the cause. It never contains a token.
	Err error

	// callerDeadline: the request's own context reached its deadline (as
	// opposed to the exchange's flight timing out on its own deadline).
	callerDeadline bool
}

// Error describes the failure without any token.
func (e *TokenError) Error() string {
	s := "outbound: route " + e.Route + " (" + e.Mode.String() + "): no token"
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns Err.
func (e *TokenError) Unwrap() error { return e.Err }
