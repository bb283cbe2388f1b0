package grpccreds

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/go-tokenexchange/tokenexchange/authority"
)

// Unary is a [grpc.UnaryClientInterceptor] for a connection whose per-RPC
// credentials are c (see [Credentials.DialOptions]). When the server
// refuses a call that carried c's token with codes.Unauthenticated, it
// drops that token (from the exchanger's cache, or the token source) and
// sends the call once more with a fresh one, under the refusal windows of
// the [outbound.Transport] whose destination c serves: once a fresh
// token has been refused too, the server's refusals for that route and
// subject reach the caller as they are, without another exchange, for the
// window. When the fresh token cannot be had, the call fails with the
// status [Status] gives for why.
//
// Streams are not retried: a stream's messages cannot be replayed. A
// stream refused with Unauthenticated ends with that status, and
// [Credentials.Stream] drops its token so that the next call gets a fresh
// one.
func (c *Credentials) Unary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	first := &call{}
	err := invoker(context.WithValue(ctx, callKey{}, first), method, req, reply, cc, opts...)
	if status.Code(err) != codes.Unauthenticated {
		return err
	}
	sent := first.sent.Load()
	if sent == nil {
		return err // refused before it was sent with a token of c's
	}
	var again error
	resent, terr := c.dest.Retry(ctx, sent, func(fresh *authority.Token) bool {
		again = invoker(context.WithValue(ctx, callKey{}, &call{fresh: fresh}), method, req, reply, cc, opts...)
		return status.Code(again) == codes.Unauthenticated
	})
	switch {
	case terr != nil:
		return Status(terr).Err()
	case resent:
		return again
	}
	return err
}
