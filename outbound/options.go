package outbound

import (
	"log/slog"
	"net/http"

	"github.com/go-tokenexchange/tokenexchange/exchange"
)

// Options configures [New]. The zero value is valid: a transport over
// [http.DefaultTransport] with no routes, which refuses every request.
type Options struct {
	// Base sends the requests. If nil, [http.DefaultTransport], which
	// uses the proxy named by the environment (HTTP_PROXY, HTTPS_PROXY,
	// NO_PROXY).
	Base http.RoundTripper
	// Routes is the route table; see [Route]. Two routes may not name the
	// same scheme, host, port and path prefix.
	Routes []Route
	// Exchanger performs the exchanges of [ModeExchange] routes that do not
	// name their own. Required when such a route exists.
	Exchanger *exchange.Exchanger
	// AllowUnrouted sends a request that no route names without a token,
	// instead of failing it with [ErrNoRoute]. Such a request never carries
	// an Authorization header: any the caller set (under any spelling of
	// the name) is removed, since without a subject token in the context
	// the transport cannot tell one copied from the inbound request from
	// the caller's own. To send a header of the caller's own, name the
	// destination in a [ModeNone] route. A request to an origin that has
	// routes but whose path is ambiguous ([ErrAmbiguousPath]) is refused
	// all the same.
	AllowUnrouted bool
	// Logger receives, never with a token: a Debug line for each request
	// refused with an error (the error is returned too, for the caller to
	// log, e.g. by [ErrorHandler]) and for each 401 retry, and a Warn line
	// when a 401 is passed on because no other token could be had or the
	// body could not be replayed. If nil, nothing is logged.
	Logger *slog.Logger
	// AllowPlaintextProxy lets [New] accept a route with an "http" URL
	// whose requests Base sends through a forward proxy. By default New
	// fails for such a route when it carries a token (any mode but
	// [ModeNone]) and Base (or [http.DefaultTransport] when nil) is an
	// [*http.Transport] whose Proxy function returns a proxy for the
	// route's URL: the proxy, a host the route table does not name, would
	// receive the token in clear text. ("https" routes are safe: the proxy
	// only relays a CONNECT tunnel.) Rather than setting this, use https,
	// or a Base whose Proxy is nil or excludes the host (NO_PROXY). A Base
	// of another type (a wrapper) is not inspected: it is the application's
	// to check.
	AllowPlaintextProxy bool
}
