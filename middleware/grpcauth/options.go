package grpcauth

import (
	"context"

	"go.opentelemetry.io/otel/metric"

	"github.com/go-tokenexchange/tokenexchange/middleware"
)

// Options configures an [Interceptor]. The zero value is valid: a required
// bearer token of at most [middleware.DefaultMaxTokenSize], passed on
// unvalidated (opaque).
type Options struct {
	// MaxTokenSize is the largest token accepted, in bytes; a larger one
	// is refused (codes.Unauthenticated). Default
	// [middleware.DefaultMaxTokenSize].
	MaxTokenSize int

	// Optional lets calls without authorization metadata through,
	// anonymous: [middleware.TokenFromContext] reports false and
	// [middleware.IsInbound] true. Metadata that is present but
	// malformed, of another scheme or invalid is still refused.
	Optional bool

	// Validator, if set, validates every token, and the claims it returns
	// are stored for [middleware.ClaimsFromContext]. If nil, tokens are
	// opaque and pass on unchanged.
	Validator middleware.Validator

	// RequiredScopes must all be among the validated token's scopes, or
	// the call is refused with codes.PermissionDenied. Requires
	// Validator.
	RequiredScopes []string

	// Skip, if set, exempts the calls for which it returns true from
	// authentication, such as the health service's
	// ("/grpc.health.v1.Health/Check"): their context carries no token
	// and is not marked inbound. fullMethod is the call's method,
	// "/package.Service/Method".
	Skip func(ctx context.Context, fullMethod string) bool

	// OnRefusal, if set, is called for every refusal before the call
	// ends, for logging: err wraps the [*middleware.Error] (errors.As)
	// and, for a Validator's own error, that error; it never contains
	// the token. The status the caller gets is fixed text, not err.
	OnRefusal func(ctx context.Context, fullMethod string, err error)

	// MeterProvider receives the interceptor's metrics (see "Telemetry"
	// in the package documentation). If nil, otel.GetMeterProvider().
	MeterProvider metric.MeterProvider
}
