package grpccreds

import (
	"context"
	"errors"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/outbound"
)

// authorizationKey is the metadata key of the bearer token.
const authorizationKey = "authorization"

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
// with codes.Unauthenticated, once. They are safe for concurrent use.
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
// as its per-RPC credentials and, chained, its unary interceptor.
func (c *Credentials) DialOptions() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithPerRPCCredentials(c), grpc.WithChainUnaryInterceptor(c.Unary)}
}

// GetRequestMetadata returns the "authorization" metadata of a call made
// with ctx: "Bearer " and the destination's token for it. When the token
// cannot be had, the call is not sent and fails with the status
// [Status] gives (codes.Unauthenticated for a caller without a token or
// whose token the authority refused, codes.Unavailable when the authority
// is down, ...), whose message is a fixed text: never a token or the
// authority's description.
func (c *Credentials) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
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

// call is what the unary interceptor and GetRequestMetadata share about
// one attempt of a call: the token to send (the fresh one of a retry)
// and the token sent.
type call struct {
	fresh *authority.Token
	sent  atomic.Pointer[authority.Token]
}
