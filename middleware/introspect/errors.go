package introspect

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-tokenexchange/tokenexchange/internal/claimcheck"
	"github.com/go-tokenexchange/tokenexchange/middleware"
)

// Sentinel errors for [errors.Is], in the chain of the [*middleware.Error]
// a [Validator] returns.
var (
	// ErrInactive: the authorization server answered that the token is
	// not active: unknown, expired, revoked (401 invalid_token).
	ErrInactive = errors.New("introspect: token not active")
	// ErrIntrospectionUnavailable: the introspection failed (the endpoint
	// unreachable, a 5xx, a timeout, a malformed or HTML answer, the
	// gateway's credentials refused). It wraps [middleware.ErrUnavailable]
	// (503 temporarily_unavailable, with the endpoint's Retry-After when
	// it sent one).
	ErrIntrospectionUnavailable error = &kindError{msg: "introspect: token introspection unavailable", kind: middleware.ErrUnavailable}
	// ErrBusy: [Config.MaxInFlight] introspections are in flight already.
	// It wraps [middleware.ErrUnavailable] (503, Retry-After: 1).
	ErrBusy error = &kindError{msg: "introspect: too many introspections in flight", kind: middleware.ErrUnavailable}
)

// kindError is a sentinel of a broader kind (middleware.ErrUnavailable).
type kindError struct {
	msg  string
	kind error
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

// busyRetryAfter is the Retry-After of a busy answer.
const busyRetryAfter = time.Second

// tokenError is a 401 invalid_token refusal.
func tokenError(cause error, desc string) *middleware.Error {
	return claimcheck.TokenError(cause, desc)
}

// unavailableError is a 503 whose cause is in its chain (its text comes
// from package authority, which never holds a token).
func unavailableError(kind, cause error, desc string, retryAfter time.Duration) *middleware.Error {
	err := kind
	if cause != nil {
		err = fmt.Errorf("%w: %w", kind, cause)
	}
	return &middleware.Error{
		Code:        middleware.CodeTemporarilyUnavailable,
		Description: desc,
		Status:      http.StatusServiceUnavailable,
		RetryAfter:  retryAfter,
		Err:         err,
	}
}
