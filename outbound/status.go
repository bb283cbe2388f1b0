package outbound

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/exchange"
)

// Challenges written with a 401 (RFC 6750 §3).
const (
	challengeMissing = `Bearer`
	challengeInvalid = `Bearer error="invalid_token"`
)

// StatusFor returns the status, and the headers to send with it, that a
// gateway should answer its caller with when a request through a
// [Transport] failed with err (as returned by RoundTrip, or wrapped by
// [http.Client] in a *[url.Error]):
//
//   - [ErrNoSubjectToken] (an anonymous caller): 401 with
//     "WWW-Authenticate: Bearer".
//   - [ErrNoInboundContext] (the handler did not build the request with
//     r.Context()): 500.
//   - A [ModeExchange] route whose exchange the authority refused with
//     invalid_request (RFC 8693 §2.2.2: the subject token was not
//     accepted) or invalid_grant: 401 with
//     `WWW-Authenticate: Bearer error="invalid_token"`. On a route whose
//     Target has an Actor ([TokenError.Actor]), invalid_request is 502
//     instead: RFC 8693 uses it for a refused actor token too, which is
//     this service's, and Keycloak for an audience that is not available.
//   - [exchange.ErrSubjectExpired] (the caller's token has expired, so the
//     exchanger did not ask the authority) and [exchange.ErrSubjectInvalid]
//     (the caller's JWT has an "exp" that is not a NumericDate): 401 with
//     `WWW-Authenticate: Bearer error="invalid_token"`.
//   - Such an exchange refused with access_denied: 403.
//   - A ModeExchange route whose Target speaks Microsoft Entra ID's
//     On-Behalf-Of ([exchange.DialectEntraOBO]): invalid_grant (an
//     expired or refused assertion, AADSTS code in the description) is
//     401 with `WWW-Authenticate: Bearer error="invalid_token"`;
//     consent_required and access_denied are 403; interaction_required
//     with a claims challenge ([authority.Error.Claims]) is 401 with
//     `WWW-Authenticate: Bearer realm="", authorization_uri="...",
//     error="insufficient_claims", claims="<base64 of the claims JSON>"`,
//     Microsoft's step-up convention (authorization_uri only when the
//     authority's discovery named its authorization endpoint), and
//     without a usable claims challenge 401 invalid_token.
//   - The authority unreachable, timing out on the exchange's own
//     deadline, answering 5xx, 429 or an unusable reply
//     ([authority.IsTemporary]): 503, with Retry-After when the authority
//     sent one. So are [exchange.ErrBusy] (too many exchanges already
//     waiting for the authority) and [exchange.ErrClosed] (the exchanger
//     was closed, as during a shutdown): 503.
//   - Any other refusal by the authority (invalid_target, invalid_client,
//     unauthorized_client, invalid_scope, ..., and every refusal of a
//     [ModeOwnToken] route's grant or of an exchange's actor token): 502,
//     since it is this service's configuration that is wrong.
//   - [ErrAmbiguousPath]: 400; the request's path is one the gateway will
//     not forward.
//   - [ErrNoRoute], [ErrHostMismatch]: 502.
//   - The request's own context reaching its deadline, while waiting for a
//     token or for the downstream service (context.DeadlineExceeded, or an
//     [http.Client] Timeout): 504.
//   - A context canceled by the caller: 502; the caller has gone and will
//     not read it. [ErrorHandler] logs it at Debug level only.
//   - Anything else (the downstream service unreachable): 502, as
//     [net/http/httputil.ReverseProxy] answers by default.
//
// These hold for a [*TokenError] returned after a downstream 401, when the
// fresh token for the single retry could not be obtained, too.
//
// A nil err gives 200 and no headers. The returned header is a new map the
// caller may modify.
func StatusFor(err error) (int, http.Header) {
	if err == nil {
		return http.StatusOK, nil
	}
	if errors.Is(err, ErrNoSubjectToken) {
		return http.StatusUnauthorized, http.Header{"Www-Authenticate": {challengeMissing}}
	}
	if errors.Is(err, ErrNoInboundContext) {
		return http.StatusInternalServerError, nil
	}
	if errors.Is(err, context.Canceled) {
		return http.StatusBadGateway, nil
	}
	if errors.Is(err, ErrAmbiguousPath) {
		return http.StatusBadRequest, nil
	}
	var te *TokenError
	if !errors.As(err, &te) {
		if errors.Is(err, context.DeadlineExceeded) {
			return http.StatusGatewayTimeout, nil
		}
		return http.StatusBadGateway, nil
	}
	if te.callerDeadline {
		return http.StatusGatewayTimeout, nil
	}
	if errors.Is(te.Err, exchange.ErrBusy) || errors.Is(te.Err, exchange.ErrClosed) {
		return unavailable(0)
	}
	if errors.Is(te.Err, exchange.ErrSubjectExpired) || errors.Is(te.Err, exchange.ErrSubjectInvalid) {
		return http.StatusUnauthorized, http.Header{"Www-Authenticate": {challengeInvalid}}
	}
	var ae *authority.Error
	if errors.As(te.Err, &ae) {
		if ae.Temporary() {
			return unavailable(ae.RetryAfter)
		}
		if te.Mode == ModeExchange && ae.Grant == authority.GrantTokenExchange {
			switch {
			case errors.Is(ae, authority.ErrInvalidRequest) && te.Actor:
				return http.StatusBadGateway, nil
			case errors.Is(ae, authority.ErrInvalidRequest), errors.Is(ae, authority.ErrInvalidGrant):
				return http.StatusUnauthorized, http.Header{"Www-Authenticate": {challengeInvalid}}
			case errors.Is(ae, authority.ErrAccessDenied):
				return http.StatusForbidden, nil
			}
		}
		if te.Mode == ModeExchange && ae.Grant == authority.GrantJWTBearer {
			return onBehalfOfStatus(ae)
		}
		return http.StatusBadGateway, nil
	}
	if authority.IsTemporary(te.Err) {
		return unavailable(0)
	}
	return http.StatusBadGateway, nil
}

func unavailable(retryAfter time.Duration) (int, http.Header) {
	if retryAfter <= 0 {
		return http.StatusServiceUnavailable, nil
	}
	secs := int64((retryAfter + time.Second - 1) / time.Second)
	return http.StatusServiceUnavailable, http.Header{"Retry-After": {strconv.FormatInt(secs, 10)}}
}
