package middleware

import (
	"errors"
	"net/http"
	"time"
)

// Error codes, the values of [Error.Code]: those of RFC 6750 §3.1, and
// CodeTemporarilyUnavailable (RFC 6749 §4.1.2.1) for a token that could not
// be validated now.
const (
	CodeInvalidRequest         = "invalid_request"
	CodeInvalidToken           = "invalid_token"
	CodeInsufficientScope      = "insufficient_scope"
	CodeTemporarilyUnavailable = "temporarily_unavailable"
)

// Sentinel errors for [errors.Is]. Every refusal of [Bearer] is an [*Error]
// that wraps one of them, or the error a [Validator] returned. None of them,
// nor any *Error, contains the token. The sentinels from ErrMalformedToken
// to ErrKeysUnavailable are shared by every validator: package
// middleware/jwt returns them, and so may an introspection client.
var (
	// ErrMissingToken: the request has no Authorization header (401, no error code).
	ErrMissingToken = errors.New("middleware: missing bearer token")
	// ErrUnsupportedScheme: the Authorization header uses a scheme other than
	// Bearer, such as Basic (401, no error code).
	ErrUnsupportedScheme = errors.New("middleware: authorization scheme is not Bearer")
	// ErrMalformedHeader: the Authorization header is empty or not
	// "Bearer" 1*SP token68 (400 invalid_request).
	ErrMalformedHeader = errors.New("middleware: malformed authorization header")
	// ErrMultipleHeaders: more than one Authorization header (400 invalid_request).
	ErrMultipleHeaders = errors.New("middleware: multiple authorization headers")
	// ErrTokenTooLarge: the token exceeds [Options.MaxTokenSize] (400 invalid_request).
	ErrTokenTooLarge = errors.New("middleware: bearer token too large")
	// ErrTokenInQuery: an access_token in the query string or in a parsed form
	// body (400 invalid_request).
	ErrTokenInQuery = errors.New("middleware: bearer token in query or form")

	// ErrMalformedToken: the token is not a compact JWS whose payload is a JSON
	// object (401 invalid_token).
	ErrMalformedToken = errors.New("middleware: malformed token")
	// ErrUnsupportedAlgorithm: the token's alg is not allowed; "none" and HMAC
	// never are (401 invalid_token).
	ErrUnsupportedAlgorithm = errors.New("middleware: unsupported signing algorithm")
	// ErrUnknownKey: no key of the authorization server's key set matches the
	// token's kid and alg, even after a refetch (401 invalid_token).
	ErrUnknownKey = errors.New("middleware: unknown signing key")
	// ErrInvalidSignature: the signature does not verify (401 invalid_token).
	ErrInvalidSignature = errors.New("middleware: invalid token signature")
	// ErrInvalidType: the JOSE header "typ" is not one of the accepted
	// types (middleware/jwt's Config.Types), or an introspection answer
	// describes another kind of token than an access token (its
	// "token_type" or "typ", middleware/introspect) (401 invalid_token).
	ErrInvalidType = errors.New("middleware: token type not accepted")
	// ErrRejected: a validator's policy hook (middleware/jwt's
	// Config.CheckClaims) refused the token with an error that is not an
	// [*Error] (401 invalid_token). The *Error wraps both ErrRejected and
	// that error.
	ErrRejected = errors.New("middleware: token rejected by policy")
	// ErrMissingClaim: a required claim (exp, iss or aud) is absent (401 invalid_token).
	ErrMissingClaim = errors.New("middleware: token lacks a required claim")
	// ErrInvalidClaim: a registered claim has a value of the wrong type,
	// such as an "exp", "nbf" or "iat" that is not a NumericDate (a JSON
	// number, RFC 7519 §2): a string, even of digits, is refused (401
	// invalid_token).
	ErrInvalidClaim = errors.New("middleware: token claim of the wrong type")
	// ErrExpired: exp is in the past, beyond the leeway (401 invalid_token).
	ErrExpired = errors.New("middleware: token expired")
	// ErrNotYetValid: nbf or iat is in the future, beyond the leeway (401 invalid_token).
	ErrNotYetValid = errors.New("middleware: token not yet valid")
	// ErrInvalidIssuer: iss is not the configured issuer (401 invalid_token).
	ErrInvalidIssuer = errors.New("middleware: issuer mismatch")
	// ErrInvalidAudience: aud names none of the configured audiences (401 invalid_token).
	ErrInvalidAudience = errors.New("middleware: audience mismatch")
	// ErrUnavailable: the token could not be validated now, because what the
	// validator needs (a key set, an introspection endpoint) could not be
	// reached: 503 Service Unavailable, not a refusal of the token. A
	// [Validator] conveys it by returning an error that wraps ErrUnavailable:
	// an [*Error] (whose RetryAfter, when positive, becomes the Retry-After
	// header), or any other error, in whose chain a RetryAfter()
	// time.Duration method, found with [errors.As], gives the Retry-After.
	ErrUnavailable = errors.New("middleware: token validation unavailable")
	// ErrKeysUnavailable: the key set could not be fetched in time, or the
	// request's context ended while waiting for it. It wraps
	// [ErrUnavailable] (503 temporarily_unavailable).
	ErrKeysUnavailable error = &kindError{msg: "middleware: signing keys unavailable", kind: ErrUnavailable}

	// ErrInsufficientScope: the token lacks a required scope (403 insufficient_scope).
	ErrInsufficientScope = errors.New("middleware: insufficient scope")
)

// Error is a refusal, carrying what RFC 6750 §3 puts on the wire. It never
// contains the token. Use [errors.Is] with the sentinels (ErrExpired, ...) to
// tell refusals apart.
type Error struct {
	// Code is the RFC 6750 error code (CodeInvalidRequest, CodeInvalidToken,
	// CodeInsufficientScope), or empty when the request carried no bearer
	// credentials at all (RFC 6750 §3.1).
	Code string
	// Description is the error_description: a short human-readable reason,
	// such as "token expired". It never contains the token.
	Description string
	// Status is the HTTP status: 400, 401, 403, or 503 for an Error that
	// wraps [ErrUnavailable] (which [WriteError] answers with 503 whatever
	// Status says). WriteError derives a zero Status from Code: 400 for
	// invalid_request, 403 for insufficient_scope, 401 otherwise.
	Status int
	// Scope lists the required scopes, space-separated, for insufficient_scope.
	Scope string
	// RetryAfter, when positive, is sent as the Retry-After header (in whole
	// seconds, rounded up) of a 503 answer; it is ignored otherwise.
	RetryAfter time.Duration
	// Err is the cause, a sentinel such as ErrExpired, possibly wrapping more.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Code == "" {
		return "middleware: " + e.Description
	}
	return "middleware: " + e.Code + ": " + e.Description
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// kindError is a sentinel that is also of a broader kind, such as
// ErrKeysUnavailable, which is an ErrUnavailable.
type kindError struct {
	msg  string
	kind error
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

func requestError(cause error, desc string) *Error {
	return &Error{Code: CodeInvalidRequest, Description: desc, Status: http.StatusBadRequest, Err: cause}
}

func tokenError(cause error, desc string) *Error {
	return &Error{Code: CodeInvalidToken, Description: desc, Status: http.StatusUnauthorized, Err: cause}
}

func missingError() *Error {
	return &Error{Description: "bearer token required", Status: http.StatusUnauthorized, Err: ErrMissingToken}
}

func schemeError() *Error {
	return &Error{Description: "authorization scheme must be Bearer", Status: http.StatusUnauthorized, Err: ErrUnsupportedScheme}
}
