package grpccreds

import (
	"context"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Stream is a [grpc.StreamClientInterceptor] for a connection whose
// per-RPC credentials are c (see [Credentials.DialOptions]). A stream is
// not sent again (its messages cannot be replayed), but when the server
// refuses one that carried c's token with codes.Unauthenticated (the
// first error its Header, RecvMsg or CloseSend returns, or NewStream's,
// with that code), Stream drops that token with
// [outbound.Destination.Invalidate], so that the next call gets a fresh
// one, under the Transport's refusal windows: once a fresh token has been
// refused too, the server's refusals for that route and subject are
// passed on without dropping another token for the window. The stream
// itself ends with the server's status, unchanged.
func (c *Credentials) Stream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	rec := &call{}
	cs, err := streamer(context.WithValue(ctx, callKey{}, rec), desc, cc, method, opts...)
	if err != nil {
		c.streamRefused(ctx, rec, err)
		return nil, err
	}
	return &clientStream{ClientStream: cs, c: c, ctx: ctx, rec: rec}, nil
}

// streamRefused drops the token rec records as sent when err is
// codes.Unauthenticated.
func (c *Credentials) streamRefused(ctx context.Context, rec *call, err error) {
	if status.Code(err) != codes.Unauthenticated {
		return
	}
	if sent := rec.sent.Load(); sent != nil {
		c.dest.Invalidate(ctx, sent)
	}
}

// clientStream watches a stream's errors for the server's refusal of its
// token.
type clientStream struct {
	grpc.ClientStream
	c       *Credentials
	ctx     context.Context // the call's, with the caller's token
	rec     *call
	errSeen atomic.Bool // the stream's first error has been looked at
}

// observe looks at the stream's first error, once.
func (s *clientStream) observe(err error) {
	if err == nil || s.errSeen.Swap(true) {
		return
	}
	s.c.streamRefused(s.ctx, s.rec, err)
}

// Header returns the stream's header metadata.
func (s *clientStream) Header() (md metadata.MD, err error) {
	md, err = s.ClientStream.Header()
	s.observe(err)
	return md, err
}

// RecvMsg receives a message.
func (s *clientStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	s.observe(err)
	return err
}

// CloseSend closes the sending side of the stream.
func (s *clientStream) CloseSend() error {
	err := s.ClientStream.CloseSend()
	s.observe(err)
	return err
}
