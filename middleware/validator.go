package middleware

import (
	"context"

	"github.com/go-tokenexchange/tokenexchange/authority"
)

// Validator validates a bearer token and returns its claims. It is the
// extension point of [Bearer]: package middleware/jwt implements it for JWTs
// signed by an authorization server's keys; an RFC 7662 introspection
// client, a go-oidc verifier or a test double of the application's own can
// implement it as well. Implementations must be safe for concurrent use.
//
// Validate is called once per request with the request's context, which it
// must honour. It returns the token's claims ([ParseClaims] reads a JWT
// payload or an introspection response into them), or an error:
//
//   - an [*Error] is answered as it is (its Status, Code and Description);
//     build one wrapping a sentinel such as [ErrExpired] or [ErrInvalidClaim];
//   - an error wrapping [ErrUnavailable] (the key set or the introspection
//     endpoint could not be reached) is answered 503 Service Unavailable, with
//     a Retry-After header when the error knows when to retry (see
//     [ErrUnavailable]);
//   - any other error is answered 401 invalid_token with the generic
//     description "token could not be validated": its text never reaches the
//     client, though [Options.OnRefusal] sees it, wrapped in an *Error.
//
// Returning neither claims nor an error refuses the token (401): a
// Validator never lets a token through by omission.
//
// token carries the raw token ([authority.SubjectToken.Value]) and its
// SHA-256 ([authority.SubjectToken.Digest]), computed once for the whole
// request, for a Validator that caches its answers by token. A cache
// keeps the digest (an array), not the SubjectToken: the middleware's token
// lives in the request's context value, which a kept SubjectToken would
// keep alive.
type Validator interface {
	Validate(ctx context.Context, token authority.SubjectToken) (*Claims, error)
}
