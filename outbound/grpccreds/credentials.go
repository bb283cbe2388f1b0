package grpccreds

import (
	"context"
	"errors"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/outbound"
)

// authorizationKey is the metadata key of the bearer token.
const authorizationKey = "authorization"

// MsgHostMismatch is the message of the codes.Internal status of a call
// refused because its connection's authority is not the host and port of
// the credentials' route (see [Credentials.GetRequestMetadata]).
const MsgHostMismatch = "grpccreds: the connection's authority is not the host of the credentials' route: no token sent (dial the route's host, or make credentials for the route of the host dialed)"

// Options configures [Credentials]. The zero value is valid.
type Options struct {
	// AllowInsecure lets the token be sent on a connection without
	// transport security (RequireTransportSecurity reports false), as
	// over a loopback or a service mesh's plaintext hop. Default false:
	// grpc.NewClient refuses insecure transport credentials with these
	// credentials.
	AllowInsecure bool
}

// Credentials are the [credentials.PerRPCCredentials] of one destination
// of an [outbound.Transport]: every call gets the token that destination's
// route calls for, taken from the call's context as the Transport takes
// it from a request's (see [outbound.Destination.Token]). Their Unary
// method is the client interceptor that retries a call the server refused
// with codes.Unauthenticated, once; their Stream method the one that drops
// the token of a stream the server refused so. They are safe for
// concurrent use.
type Credentials struct {
	dest     *outbound.Destination
	insecure bool
}

var _ credentials.PerRPCCredentials = (*Credentials)(nil)

// New returns the Credentials of dest. It refuses a nil dest and a
// [outbound.ModeNone] route, which has no token to attach.
func New(dest *outbound.Destination, opts Options) (*Credentials, error) {
	if dest == nil {
		return nil, errors.New("grpccreds: nil Destination")
	}
	if dest.Mode() == outbound.ModeNone {
		return nil, errors.New("grpccreds: the destination's route is ModeNone: no token to attach")
	}
	return &Credentials{dest: dest, insecure: opts.AllowInsecure}, nil
}

// DialOptions returns the options that install c on a client connection:
// as its per-RPC credentials and, chained, its unary and stream
// interceptors ([Credentials.Unary], [Credentials.Stream]).
func (c *Credentials) DialOptions() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithPerRPCCredentials(c), grpc.WithChainUnaryInterceptor(c.Unary), grpc.WithChainStreamInterceptor(c.Stream)}
}

// GetRequestMetadata returns the "authorization" metadata of a call made
// with ctx: "Bearer " and the destination's token for it. When the token
// cannot be had, the call is not sent and fails with the status
// [Status] gives (codes.Unauthenticated for a caller without a token or
// whose token the authority refused, codes.Unavailable when the authority
// is down, ...), whose message is a fixed text: never a token or the
// authority's description.
//
// uri is the audience gRPC passes: "https://", the connection's
// authority (the target's host and port, or grpc.WithAuthority's;
// ":443" left out), the service's path. Its host and port must be those
// of the destination's route ([outbound.Destination.SameHost]), as the
// Transport refuses a request whose Host header names another
// destination ([outbound.ErrHostMismatch]): otherwise, and when there is
// no uri (a direct call), no token is got or sent and the call fails with
// codes.Internal, the status gRPC lets credentials return for a
// configuration error (gRFC A54; Unauthenticated would tell the caller
// that its own token was refused), message [MsgHostMismatch].
func (c *Credentials) GetRequestMetadata(ctx context.Context, uri ...string) (map[string]string, error) {
	if len(uri) == 0 || !c.dest.SameHost(uri[0]) {
		return nil, status.Error(codes.Internal, MsgHostMismatch)
	}
	rec, _ := ctx.Value(callKey{}).(*call)
	var tok *authority.Token
	if rec != nil {
		tok = rec.fresh
	}
	if tok == nil {
		var err error
		if tok, err = c.dest.Token(ctx); err != nil {
			return nil, Status(err).Err()
		}
	}
	if rec != nil {
		rec.sent.Store(tok)
	}
	return map[string]string{authorizationKey: c.dest.Authorization(tok)}, nil
}

// RequireTransportSecurity reports true unless [Options.AllowInsecure].
func (c *Credentials) RequireTransportSecurity() bool { return !c.insecure }

// callKey is the context key of a *call.
type callKey struct{}

// call is what the interceptors and GetRequestMetadata share about one
// attempt of a call: the token to send (the fresh one of a retry) and the
// token sent.
type call struct {
	fresh *authority.Token
	sent  atomic.Pointer[authority.Token]
}
