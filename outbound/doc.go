// Package outbound puts the right token on every outbound HTTP request.
//
// A [Transport] is an [http.RoundTripper] configured by a route table. Each
// [Route] names a destination (scheme, host, port and an optional path
// prefix) and the token it gets ([Mode]):
//
//   - [ModeExchange]: the inbound caller's token (the subject token, placed
//     in the request context by the middleware package or by
//     middleware.NewContext) exchanged for a token issued for the route's
//     [exchange.Target] (RFC 8693), from the [exchange.Exchanger]'s cache
//     when it holds one.
//   - [ModeOwnToken]: the service's own token from a [TokenSource], such as
//     an [authority.TokenSource] with the client credentials grant.
//   - [ModePassThrough]: the inbound token itself, unchanged.
//   - [ModeNone]: no token.
//
// The transport fails closed: a request whose URL no route names gets no
// token and fails with [ErrNoRoute] (unless [Options.AllowUnrouted]). The
// token is added to a copy of the request, never to the caller's request,
// so an [http.Client] following a redirect starts again from the caller's
// headers and the transport decides afresh for the new destination: a
// redirect to a host no route names carries no token.
//
// A downstream 401 makes the transport drop the token it sent (from the
// exchanger's cache or the TokenSource), take a fresh one and resend the
// request once, when its body can be replayed.
//
// Failures to obtain a token are [*TokenError] values wrapping the
// exchange or authority error. [StatusFor] maps any error the transport
// returns to the status a gateway should answer with, and [ErrorHandler]
// writes that answer; it fits the ErrorHandler of [net/http/httputil.ReverseProxy]. No
// token appears in an error, a log line or a response written by this
// package.
package outbound
