package outbound

import (
	"log/slog"
	"net/http"

	"github.com/go-tokenexchange/tokenexchange/exchange"
)

// Options configures [New]. The zero value is valid: a transport over
// [http.DefaultTransport] with no routes, which refuses every request.
type Options struct {
	// Base sends the requests. If nil, [http.DefaultTransport].
	Base http.RoundTripper
	// Routes is the route table; see [Route]. Two routes may not name the
	// same scheme, host, port and path prefix.
	Routes []Route
	// Exchanger performs the exchanges of [ModeExchange] routes that do not
	// name their own. Required when such a route exists.
	Exchanger *exchange.Exchanger
	// AllowUnrouted sends a request that no route names without a token
	// (any Authorization header carrying the subject token is removed),
	// instead of failing it with [ErrNoRoute].
	AllowUnrouted bool
	// Logger receives one line per refused request and per 401 retry, at
	// Debug and Warn level, never with a token. If nil, nothing is logged.
	Logger *slog.Logger
}
