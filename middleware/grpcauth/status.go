package grpcauth

import (
	"errors"
	"net/http"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/go-tokenexchange/tokenexchange/middleware"
)

// Messages of the statuses of refused calls: fixed texts by reason, never
// the token or a validator's text.
var messages = map[string]string{
	"missing_token":      "grpcauth: bearer token required",
	"unsupported_scheme": "grpcauth: authorization scheme must be Bearer",
	"malformed_header":   "grpcauth: malformed authorization metadata",
	"multiple_headers":   "grpcauth: more than one authorization value",
	"token_too_large":    "grpcauth: bearer token too large",
	"insufficient_scope": "grpcauth: token lacks a required scope",
	"unavailable":        "grpcauth: token could not be validated now",
}

// invalidMessage is the message of every other refusal of the token.
const invalidMessage = "grpcauth: invalid bearer token"

// statusOf returns the status error that ends a call refused with err
// (from [middleware.Authenticator.Authenticate]) for reason.
func statusOf(err error, reason string) error {
	msg, ok := messages[reason]
	if !ok {
		msg = invalidMessage
	}
	var e *middleware.Error
	errors.As(err, &e)
	switch {
	case errors.Is(err, middleware.ErrUnavailable):
		return unavailable(msg, e)
	case e != nil && e.Status == http.StatusForbidden, errors.Is(err, middleware.ErrInsufficientScope):
		return status.Error(codes.PermissionDenied, msg)
	}
	return status.Error(codes.Unauthenticated, msg)
}

// unavailable is codes.Unavailable with msg and, when e knows when to
// retry, a RetryInfo detail.
func unavailable(msg string, e *middleware.Error) error {
	st := status.New(codes.Unavailable, msg)
	if e == nil || e.RetryAfter <= 0 {
		return st.Err()
	}
	d := (e.RetryAfter + time.Second - 1).Truncate(time.Second)
	if withInfo, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(d)}); err == nil {
		st = withInfo
	}
	return st.Err()
}
