// Package grpccreds attaches to outgoing gRPC calls the token that a
// destination of an [outbound.Transport] calls for: the caller's token
// (from the call's context, put there by package middleware/grpcauth or
// the HTTP middleware) exchanged for the destination's
// [github.com/go-tokenexchange/tokenexchange/exchange.Target], the
// service's own token, or the caller's token unchanged, as the
// Transport does for HTTP requests. The exchanger, its cache and single
// flight, the refusal windows and the error mapping are the Transport's.
//
//	tr, err := outbound.New(outbound.Options{Exchanger: x, Routes: []outbound.Route{{
//		Name: "orders", URL: "https://orders.internal:443", Mode: outbound.ModeExchange,
//		Target: exchange.Target{Audiences: []string{"orders"}},
//	}}})
//	dest, err := tr.Destination("https://orders.internal:443")
//	creds, err := grpccreds.New(dest, grpccreds.Options{})
//	conn, err := grpc.NewClient("orders.internal:443",
//		append(creds.DialOptions(), grpc.WithTransportCredentials(credentials.NewTLS(tlsConfig)))...)
//	// in a handler: orders.Get(ctx, req) with the handler's context
//
// [Credentials] implement [credentials.PerRPCCredentials]: every call,
// unary or stream, carries "authorization: Bearer <token>", and a call
// whose token cannot be had is not sent: it fails with the status
// [Status] gives. RequireTransportSecurity is true unless
// [Options.AllowInsecure]. Credentials are for their route's host: a call
// on a connection whose authority (the audience URI gRPC passes) names
// another host or port gets no token and fails with codes.Internal
// ([MsgHostMismatch]); dial the route's host and port, or set
// grpc.WithAuthority to them.
//
// [Credentials.Unary], the client interceptor, retries a unary call that
// the server refused with codes.Unauthenticated once, with a fresh token,
// under the Transport's refusal windows ([outbound.Options.RefusalWindow],
// shared through [outbound.Options.RefusalMemory]): once a fresh token
// has been refused too, the refusals of that destination for that
// subject reach the caller as they are, without another exchange, for
// the window. Streams are not retried, but [Credentials.Stream], the
// stream interceptor, drops the token of a stream the server refused with
// codes.Unauthenticated ([outbound.Destination.Invalidate]), under the
// same windows, so that the next call gets a fresh one.
//
// # Telemetry
//
// The credentials record nothing of their own: their retries, refusal
// windows, errors and calls to the refusal memory are counted by the
// Transport, in its instruments (tokenexchange.outbound.retries,
// tokenexchange.outbound.refusal_windows, tokenexchange.outbound.errors,
// tokenexchange.outbound.refusal_memory.calls on the meter
// "github.com/go-tokenexchange/tokenexchange/outbound"), with the
// tokenexchange.route attribute naming the gRPC destination's route; and
// in [outbound.Transport.Stats]. Name gRPC routes (Route.Name) so that
// dashboards tell them from HTTP ones. The exchange runs in the call's
// context: the exchanger's spans are children of the call's.
package grpccreds
