package grpcauth

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/go-tokenexchange/tokenexchange/middleware"
)

// authorizationKey is the metadata key of the bearer token: gRPC's
// spelling of the Authorization header.
const authorizationKey = "authorization"

// Interceptor holds the unary and stream server interceptors that
// authenticate inbound calls. It is safe for concurrent use; create it
// with [New].
type Interceptor struct {
	authn     *middleware.Authenticator
	optional  bool
	skip      func(context.Context, string) bool
	onRefusal func(context.Context, string, error)
	tel       *telemetry
}

// New returns the Interceptor for opts. Like [middleware.Bearer] it
// panics, with a message starting "middleware:", on options that can only
// be a programming error: a negative MaxTokenSize, RequiredScopes without
// a Validator, or a scope that is not a valid RFC 6749 scope-token.
func New(opts Options) *Interceptor {
	return &Interceptor{
		authn: middleware.NewAuthenticator(middleware.Options{
			MaxTokenSize:   opts.MaxTokenSize,
			Optional:       opts.Optional,
			Validator:      opts.Validator,
			RequiredScopes: opts.RequiredScopes,
		}),
		optional:  opts.Optional,
		skip:      opts.Skip,
		onRefusal: opts.OnRefusal,
		tel:       newTelemetry(opts.MeterProvider),
	}
}

// Unary is a [grpc.UnaryServerInterceptor]: pass it to
// [grpc.UnaryInterceptor] or [grpc.ChainUnaryInterceptor]. It calls
// handler with the call's context carrying the token, or ends the call
// with the refusal's status.
func (a *Interceptor) Unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ctx, err := a.authenticate(ctx, info.FullMethod)
	if err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

// Stream is a [grpc.StreamServerInterceptor]: pass it to
// [grpc.StreamInterceptor] or [grpc.ChainStreamInterceptor]. The handler
// gets a stream whose Context carries the token; a refused call ends
// before the handler runs.
func (a *Interceptor) Stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx, err := a.authenticate(ss.Context(), info.FullMethod)
	if err != nil {
		return err
	}
	return handler(srv, &stream{ServerStream: ss, ctx: ctx})
}

// authenticate authenticates the call of ctx: it returns the context
// carrying the token, or the status error that ends the call.
func (a *Interceptor) authenticate(ctx context.Context, fullMethod string) (context.Context, error) {
	if a.skip != nil && a.skip(ctx, fullMethod) {
		a.tel.count(ctx, outcomeSkipped)
		return ctx, nil
	}
	values := metadata.ValueFromIncomingContext(ctx, authorizationKey)
	actx, err := a.authn.Authenticate(ctx, values)
	if err != nil {
		reason := middleware.RefusalReason(err)
		a.tel.refused(ctx, reason)
		if a.onRefusal != nil {
			a.onRefusal(ctx, fullMethod, err)
		}
		return ctx, statusOf(err, reason)
	}
	if len(values) == 0 && a.optional {
		a.tel.count(ctx, outcomeAnonymous)
	} else {
		a.tel.count(ctx, outcomeAccepted)
	}
	return actx, nil
}

// stream is a [grpc.ServerStream] whose Context is the authenticated one.
type stream struct {
	grpc.ServerStream
	ctx context.Context
}

// Context returns the context carrying the token.
func (s *stream) Context() context.Context { return s.ctx }
