package grpccreds

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/go-tokenexchange/tokenexchange/outbound"
)

// Fixed messages of the statuses Status returns: never a token nor the
// authority's text.
const (
	msgNoSubject   = "grpccreds: the call has no caller token"
	msgRefused     = "grpccreds: the caller's token was not accepted for the destination"
	msgDenied      = "grpccreds: the authorization server denied a token for the destination"
	msgBadRequest  = "grpccreds: request refused"
	msgUnavailable = "grpccreds: no token for the destination now: the authorization server is unavailable"
	msgDeadline    = "grpccreds: deadline exceeded while getting a token"
	msgNotInbound  = "grpccreds: the call's context does not come from an inbound request"
	msgConfig      = "grpccreds: no token for the destination (check the route's configuration)"
	msgCanceled    = "grpccreds: call canceled"
	msgStepUp      = "grpccreds: the caller's token lacks claims the authorization server requires (see the ErrorInfo detail)"
)

// ErrorInfo of a claims challenge (see [Status]).
const (
	// ReasonInsufficientClaims is the Reason of the ErrorInfo detail that
	// carries a claims challenge.
	ReasonInsufficientClaims = "INSUFFICIENT_CLAIMS"
	// ErrorInfoDomain is the Domain of the ErrorInfo details of this
	// package.
	ErrorInfoDomain = "tokenexchange"
	// MetadataWWWAuthenticate is the ErrorInfo metadata key whose value is
	// the challenge as HTTP sends it in WWW-Authenticate.
	MetadataWWWAuthenticate = "www_authenticate"
)

// Status returns the gRPC status for err, an error of an
// [outbound.Destination] (or of an [outbound.Transport]'s RoundTrip, so
// that a gRPC handler calling an HTTP service can answer with it): the
// code follows the HTTP status [outbound.StatusFor] gives err, so a
// change there flows through:
//
//	401 (no caller token, the caller's token refused by the authority)  Unauthenticated
//	403 (access_denied)                                                  PermissionDenied
//	400                                                                  InvalidArgument
//	500 (a context that is no inbound request's)                         Internal
//	502 (this service's configuration or credentials refused)            Internal
//	503 (the authority down, busy, closed)                               Unavailable, RetryInfo when known
//	504 (the call's deadline reached while getting a token)              DeadlineExceeded
//
// and a canceled context gives Canceled. A 401 whose challenge is a
// claims challenge (Microsoft Entra ID's interaction_required with
// claims, from an On-Behalf-Of exchange) is Unauthenticated with an
// errdetails.ErrorInfo detail: Reason [ReasonInsufficientClaims], Domain
// [ErrorInfoDomain], and under [MetadataWWWAuthenticate] the challenge as
// HTTP answers it (`Bearer realm="", authorization_uri="…",
// error="insufficient_claims", claims="<base64>"`), so that a gRPC
// handler that returns the status passes the step-up to its own caller.
// The message is a fixed text
// naming the case; err's text (which may hold the authority's
// description) is for logs only. A nil err gives OK.
//
// Returned from [Credentials.GetRequestMetadata], InvalidArgument is one
// of the codes gRPC does not let credentials return (gRFC A54): gRPC turns
// it into Internal.
func Status(err error) *status.Status {
	if err == nil {
		return status.New(codes.OK, "")
	}
	if errors.Is(err, context.Canceled) {
		return status.New(codes.Canceled, msgCanceled)
	}
	code, header := outbound.StatusFor(err)
	switch code {
	case http.StatusUnauthorized:
		if errors.Is(err, outbound.ErrNoSubjectToken) {
			return status.New(codes.Unauthenticated, msgNoSubject)
		}
		if challenge := header.Get("Www-Authenticate"); strings.Contains(challenge, `error="insufficient_claims"`) {
			return stepUp(challenge)
		}
		return status.New(codes.Unauthenticated, msgRefused)
	case http.StatusForbidden:
		return status.New(codes.PermissionDenied, msgDenied)
	case http.StatusBadRequest:
		return status.New(codes.InvalidArgument, msgBadRequest)
	case http.StatusServiceUnavailable:
		return unavailable(header.Get("Retry-After"))
	case http.StatusGatewayTimeout:
		return status.New(codes.DeadlineExceeded, msgDeadline)
	case http.StatusInternalServerError:
		return status.New(codes.Internal, msgNotInbound)
	}
	return status.New(codes.Internal, msgConfig)
}

// stepUp is Unauthenticated with the claims challenge in an ErrorInfo
// detail. outbound built the challenge: its claims are base64 of a
// bounded JSON object checked to hold no credential.
func stepUp(challenge string) *status.Status {
	st := status.New(codes.Unauthenticated, msgStepUp)
	info := &errdetails.ErrorInfo{
		Reason:   ReasonInsufficientClaims,
		Domain:   ErrorInfoDomain,
		Metadata: map[string]string{MetadataWWWAuthenticate: challenge},
	}
	if withInfo, err := st.WithDetails(info); err == nil {
		return withInfo
	}
	return st
}

// unavailable is codes.Unavailable with a RetryInfo detail when
// retryAfter, a Retry-After value in seconds, is set.
func unavailable(retryAfter string) *status.Status {
	st := status.New(codes.Unavailable, msgUnavailable)
	secs, err := strconv.ParseInt(retryAfter, 10, 64)
	if err != nil || secs <= 0 {
		return st
	}
	d := durationpb.New(time.Duration(secs) * time.Second)
	if withInfo, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: d}); err == nil {
		return withInfo
	}
	return st
}
