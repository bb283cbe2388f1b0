package outbound

import (
	"log/slog"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/metric"
)

// Options configures [New]. The zero value is valid: a transport over
// [http.DefaultTransport] with no routes, which refuses every request.
type Options struct {
	// Base sends the requests. If nil (or a nil pointer),
	// [http.DefaultTransport], which uses the proxy named by the
	// environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY).
	Base http.RoundTripper
	// Routes is the route table; see [Route]. Two routes may not name the
	// same scheme, host, port and path prefix.
	Routes []Route
	// Exchanger performs the exchanges of [ModeExchange] routes that do not
	// name their own, such as an [*exchange.Exchanger]. Required when such
	// a route exists. When it is also an [ExchangeInvalidator], a token a
	// downstream refused with 401 is invalidated before the one retry. A
	// nil pointer in the interface counts as none.
	Exchanger Exchanger
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
	// Logger receives, never with a token or a subject: a Debug line for
	// each request refused with an error (the error is returned too, for
	// the caller to log, e.g. by [ErrorHandler]) and for each 401 retry, an
	// Error line for each request refused with [ErrNoInboundContext] (a
	// programming error), a
	// Warn line when a 401 is passed on because GetBody failed, and a Warn
	// line when a refusal window begins (see RefusalWindow), once per
	// window, route and subject. If nil, nothing is logged.
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
	// RefusalWindow is how long the transport remembers that a route's
	// downstream refused a fresh token. After a downstream 401 the
	// transport drops the token, gets a fresh one (a re-exchange, or a new
	// token from the route's TokenSource) and resends the request once, so
	// that a revoked or rotated token recovers (a 401 for the fresh token
	// on another request while that resend is under way waits for its
	// answer instead of asking for yet another token). When the
	// downstream answers that resend with 401 too, or the token source has
	// no other token, a refusal window begins for the route and the
	// subject (the caller's token and,
	// on a route whose Target has an Actor, the actor's token; an
	// own-token route has one window for all its requests): within it, a
	// 401 on that route for that subject is passed to the caller as it is,
	// with no new token and no resend, so that a misconfigured downstream
	// (a wrong audience) costs the authority two exchanges per subject and
	// window, not one per request. A downstream that accepts the fresh
	// token ends the window. The transport remembers at most 10,000
	// windows (the oldest give way), by a SHA-256 digest, never a token.
	// Zero means 30 seconds; a negative value turns the windows off (every
	// 401 is retried). [Transport.Stats] counts them.
	RefusalWindow time.Duration
	// RefusalMemory, when set, shares the refusal windows with other
	// transports (the replicas of a gateway, through Redis, say): a
	// window this transport opens is remembered there for RefusalWindow,
	// and on a downstream 401 for which this transport knows no window
	// nor retry in progress, it asks the memory before getting a fresh
	// token: when another transport's window is open, the 401 is passed
	// on at once, and this transport keeps the window, for what remains
	// of it (at most its own RefusalWindow), without asking again. The
	// transport's own memory stays in front: a request that gets no 401
	// never calls it, nor does a 401 within a window already known
	// here. A failed call (each has a deadline of
	// [RefusalMemoryTimeout]) is counted and logged (Warn, at most once a
	// minute) and changes nothing: the transport goes by its own windows.
	// Ignored when RefusalWindow is negative; a nil pointer counts as
	// none. Note that on a route whose Target has an Actor the key names
	// the actor's token, so replicas with actor tokens of their own do
	// not share those windows.
	RefusalMemory RefusalMemory
	// Now is the clock of the refusal windows. If nil, [time.Now].
	Now func() time.Time
	// MeterProvider receives the transport's metrics: 401 retries,
	// refusal windows and refused requests, by route (see "Telemetry" in
	// the package documentation). If nil, otel.GetMeterProvider(), a
	// no-op until the application installs one.
	MeterProvider metric.MeterProvider
}
