package outbound

import (
	"errors"
	"net/url"
)

// ErrNoRoute is matched by [errors.Is] for a request refused because no
// route names its destination. The request was not sent.
var ErrNoRoute = errors.New("outbound: no route for the request URL")

// ErrNoSubjectToken is matched by [errors.Is] for a request refused
// because its route needs the inbound caller's token ([ModeExchange],
// [ModePassThrough]) and the request context holds none. The request was
// not sent.
var ErrNoSubjectToken = errors.New("outbound: no subject token in the request context")

// RouteError reports a request whose destination no route names. It
// matches [ErrNoRoute] under [errors.Is].
type RouteError struct {
	// Origin is the request's scheme and host (with port when it had one);
	// never its path, query or user info.
	Origin string
}

// Error names the destination without its path or query.
func (e *RouteError) Error() string {
	return "outbound: no route for " + e.Origin + " (request not sent)"
}

// Is reports whether target is [ErrNoRoute].
func (e *RouteError) Is(target error) bool { return target == ErrNoRoute }

func routeError(u *url.URL) error {
	if u == nil {
		return &RouteError{Origin: "a request without a URL"}
	}
	return &RouteError{Origin: u.Scheme + "://" + u.Host}
}

// TokenError reports that the token for a request could not be obtained,
// so the request was not sent. Err is [ErrNoSubjectToken] or the error of
// the [exchange.Exchanger] or [TokenSource], which wraps the
// *[authority.Error] when the authority refused; use [errors.Is] and
// [errors.As] on the TokenError itself, or [StatusFor].
type TokenError struct {
	// Route is the URL of the route that matched, as configured.
	Route string
	// Mode is that route's mode.
	Mode Mode
	// Err is the cause. It never contains a token.
	Err error
}

// Error describes the failure without any token.
func (e *TokenError) Error() string {
	return "outbound: route " + e.Route + " (" + e.Mode.String() + "): no token: " + e.Err.Error()
}

// Unwrap returns Err.
func (e *TokenError) Unwrap() error { return e.Err }
