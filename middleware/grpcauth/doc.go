// Package grpcauth authenticates inbound gRPC calls that carry an OAuth 2.0
// bearer token in their "authorization" metadata, as package middleware
// authenticates HTTP requests: the same parsing (exactly one value,
// "Bearer" 1*SP b64token), the same size limit, the same optional
// [middleware.Validator] and required scopes (a [middleware.Authenticator]
// does the work). The token, and with a Validator its claims, reach the
// handler in the call's context, read with [middleware.TokenFromContext],
// [middleware.SubjectFromContext] and [middleware.ClaimsFromContext], and
// an outbound transport or package outbound/grpccreds exchanges it from
// there.
//
//	auth := grpcauth.New(grpcauth.Options{Validator: v, RequiredScopes: []string{"orders:read"}})
//	srv := grpc.NewServer(grpc.UnaryInterceptor(auth.Unary), grpc.StreamInterceptor(auth.Stream))
//
// A refused call never reaches the handler. It ends with a status whose
// message is a fixed text that names what was wrong, never the token nor
// the validator's own text:
//
//   - no authorization metadata, another scheme, a malformed value, two
//     values, a token over the size limit, a token the Validator refused
//     (expired, bad signature, wrong audience, ...): codes.Unauthenticated;
//   - a valid token without a required scope: codes.PermissionDenied;
//   - a token that could not be validated now ([middleware.ErrUnavailable]:
//     the key set or the introspection endpoint unreachable):
//     codes.Unavailable, with a google.rpc.RetryInfo detail when the
//     Validator knows when to retry.
//
// [Options.OnRefusal] sees the full error (never the token) for logs.
//
// # Telemetry
//
// An [Interceptor] reports through the OpenTelemetry metric API, on the
// meter "github.com/go-tokenexchange/tokenexchange/middleware/grpcauth" of
// [Options.MeterProvider] (default: the global provider, a no-op until the
// application installs one), with the instruments and attributes of
// package middleware, so that one dashboard serves both (the meter's name
// tells HTTP from gRPC):
//
//   - tokenexchange.inbound.requests (Int64Counter, {request}; attribute
//     tokenexchange.outcome = accepted | anonymous | refused | skipped):
//     every call the interceptor saw; skipped: [Options.Skip] exempted it.
//   - tokenexchange.inbound.refusals (Int64Counter, {request}; attribute
//     tokenexchange.reason, the closed set of [middleware.RefusalReason]):
//     the refused calls by why.
//
// The interceptors start no span: the application's gRPC server
// instrumentation owns the call's span. A refusal adds the event
// "tokenexchange.inbound.refused" with tokenexchange.reason to the span of
// the call's context, if it has one. An accepted call records with
// attribute sets precomputed by [New].
package grpcauth
