package middleware

import (
	"context"
	"errors"
	"net/http"

	"github.com/go-tokenexchange/tokenexchange/authority"

	"go.opentelemetry.io/otel/metric/noop"
)

// Authenticator is the core of [Bearer] without HTTP: it authenticates the
// values of an authorization field, as received by a server of another
// protocol (package middleware/grpcauth gives it the "authorization"
// metadata of a gRPC call), with exactly Bearer's parsing, size limit,
// validation and scope check. It is safe for concurrent use.
type Authenticator struct {
	b *bearer
}

// NewAuthenticator returns the Authenticator for opts. It uses
// MaxTokenSize, Optional, Validator and RequiredScopes as [Bearer] does,
// and ignores the fields about HTTP answers and telemetry (Realm,
// ErrorResponder, OnRefusal, MeterProvider): the caller answers and counts
// refusals itself ([RefusalReason] names them as Bearer's metrics do).
//
// It panics, as Bearer does, on options that can only be a programming
// error: a negative MaxTokenSize, RequiredScopes without a Validator, or a
// scope that is not a valid RFC 6749 scope-token.
func NewAuthenticator(opts Options) *Authenticator {
	opts.MeterProvider = noop.NewMeterProvider()
	return &Authenticator{b: newBearer(opts)}
}

// Authenticate authenticates values, the values of the authorization
// fields of one request or call (RFC 6750 §2.1: exactly one, "Bearer"
// 1*SP b64token), and returns ctx carrying the token and, with a
// Validator, its claims, for [TokenFromContext], [SubjectFromContext] and
// [ClaimsFromContext]. With Optional and no values, the context it
// returns is anonymous: [IsInbound] reports true, TokenFromContext false.
//
// A refusal wraps the [*Error] Bearer would answer with (find it with
// [errors.As]; ErrTokenInQuery, which is about HTTP, never occurs): its
// Status is 400, 401 or 403, or it wraps [ErrUnavailable] when the
// Validator could not validate the token now. It never contains the
// token; a Validator's error text may be in its chain (for logs, never
// for the caller). [RefusalReason] names it as Bearer's metrics would.
func (a *Authenticator) Authenticate(ctx context.Context, values []string) (context.Context, error) {
	if len(values) == 0 && a.b.optional {
		return withAuth(ctx, authority.SubjectToken{}, nil), nil
	}
	c, e, why := a.b.authenticate(ctx, values)
	if e != nil {
		return ctx, &refusalError{err: e, why: why}
	}
	return c, nil
}

// RefusalReason returns the value of the tokenexchange.reason attribute
// that [Bearer] records for a refusal err (see "Telemetry" in the package
// documentation): "missing_token", "invalid_token", "insufficient_scope",
// "unavailable", ... or "other". It is one of a closed set and never
// contains text from err.
func RefusalReason(err error) string {
	var r *refusalError
	if errors.As(err, &r) {
		return r.why.String()
	}
	return reasonOf(err).String()
}

// refusalError is a refusal of [Authenticator.Authenticate]: the *Error
// and the reason Bearer counts it under (which the *Error alone does not
// always tell: a Validator's plain error is "other", its *Error
// "invalid_token").
type refusalError struct {
	err *Error
	why reason
}

func (r *refusalError) Error() string { return r.err.Error() }
func (r *refusalError) Unwrap() error { return r.err }

// authenticate parses values, validates the token when b has a Validator
// and checks the required scopes. It returns the context carrying the
// token and claims, or the refusal and its reason.
func (b *bearer) authenticate(ctx context.Context, values []string) (*authContext, *Error, reason) {
	tok, e := parseAuthorization(values, b.maxSize)
	if e != nil {
		return nil, e, reasonOf(e)
	}
	// One allocation for the context and the SubjectToken; on a refusal
	// it is garbage, but that path is not the hot one.
	c, subject := newAuthContext(ctx, tok)
	if b.validator == nil {
		return c, nil, 0
	}
	claims, err := b.validator.Validate(ctx, subject)
	if err == nil && claims == nil {
		err = errNoClaims
	}
	if err != nil {
		return nil, asError(err), reasonOf(err)
	}
	if len(b.scopes) > 0 && !claims.HasScopes(b.scopes...) {
		return nil, &Error{
			Code:        CodeInsufficientScope,
			Description: "token lacks a required scope",
			Status:      http.StatusForbidden,
			Scope:       b.scopeList,
			Err:         ErrInsufficientScope,
		}, reasonInsufficientScope
	}
	c.info.claims = claims
	return c, nil, 0
}
