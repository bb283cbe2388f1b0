package middleware

import (
	"context"
	"fmt"
	"io"

	"github.com/go-tokenexchange/tokenexchange/authority"
)

// infoKey is the context key under which a *authInfo is found.
type infoKey struct{}

// authInfo is what the middleware knows about the caller. A zero subject
// marks a request that [Options.Optional] let through without a token.
type authInfo struct {
	subject authority.SubjectToken
	claims  *Claims // nil unless a Validator accepted the token
}

// authContext carries an authInfo. It is a single allocation (the parent, the
// value and, in storage, the token and its digest), where context.WithValue
// plus a separate value and a SubjectToken of its own would take three, and
// its String method does not print the token the way context.WithValue's
// does.
type authContext struct {
	context.Context
	info    authInfo
	storage authority.SubjectTokenStorage // backs info.subject when the context made it
}

// Value returns the stored *authInfo for infoKey and defers to the parent otherwise.
func (c *authContext) Value(key any) any {
	if _, ok := key.(infoKey); ok {
		return &c.info
	}
	return c.Context.Value(key)
}

// String describes the context without revealing the token.
func (c *authContext) String() string {
	return contextName(c.Context) + ".WithBearerToken(<redacted>)"
}

// GoString is String: %#v must not print the token either.
func (c *authContext) GoString() string { return c.String() }

// Format prints String for every verb, so that %+v and %#v, which would
// otherwise print the struct's fields, never show the token.
func (c *authContext) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprintf(f, "%q", c.String())
		return
	}
	_, _ = io.WriteString(f, c.String())
}

func contextName(ctx context.Context) string {
	if s, ok := ctx.(interface{ String() string }); ok {
		return s.String()
	}
	return "context"
}

func withAuth(ctx context.Context, subject authority.SubjectToken, claims *Claims) context.Context {
	return &authContext{Context: ctx, info: authInfo{subject: subject, claims: claims}}
}

// newAuthContext returns a context carrying token, whose SubjectToken lives
// in the context's own allocation, and that SubjectToken (for a validator
// to see before the context is used); the caller sets info.claims before
// it shares the context.
func newAuthContext(ctx context.Context, token string) (*authContext, authority.SubjectToken) {
	c := &authContext{Context: ctx}
	c.info.subject = c.storage.Init(token)
	return c, c.info.subject
}

// NewContext returns a copy of ctx carrying the subject (inbound bearer) token,
// for code that does not run behind the middleware, such as a queue worker that
// acts for the user who queued the job. Claims stored by an earlier middleware
// are not carried over: they belong to another token. It makes one
// allocation, the token's [authority.SubjectToken] included.
func NewContext(ctx context.Context, token string) context.Context {
	c, _ := newAuthContext(ctx, token)
	return c
}

// NewSubjectContext is [NewContext] for a token already held as an
// [authority.SubjectToken], whose digest, once computed, is reused.
func NewSubjectContext(ctx context.Context, subject authority.SubjectToken) context.Context {
	return withAuth(ctx, subject, nil)
}

// TokenFromContext returns the bearer token stored by the middleware or by
// [NewContext]; ok is false when there is none or it is empty. It does not
// allocate.
func TokenFromContext(ctx context.Context) (string, bool) {
	info, ok := ctx.Value(infoKey{}).(*authInfo)
	if !ok || info.subject.IsZero() {
		return "", false
	}
	return info.subject.Value(), true
}

// SubjectFromContext returns the bearer token stored by the middleware or
// by [NewContext] as an [authority.SubjectToken], which computes its
// SHA-256 once for the whole request: the validator, every exchange and
// every cache key of the request share it. ok is false when there is none.
// It does not allocate.
func SubjectFromContext(ctx context.Context) (authority.SubjectToken, bool) {
	info, ok := ctx.Value(infoKey{}).(*authInfo)
	if !ok || info.subject.IsZero() {
		return authority.SubjectToken{}, false
	}
	return info.subject, true
}

// IsInbound reports whether ctx went through the [Bearer] middleware (with
// or without a token, as [Options.Optional] allows) or came from
// [NewContext]. An outbound transport uses it to tell an anonymous caller
// (401) from a handler that built its outgoing request with another
// context than the inbound request's r.Context() (a programming error).
func IsInbound(ctx context.Context) bool {
	_, ok := ctx.Value(infoKey{}).(*authInfo)
	return ok
}

// ClaimsFromContext returns the claims the [Validator] returned when the
// middleware ran with one and accepted the token; ok is false otherwise
// (no middleware, no Validator, an anonymous request, or a context from
// [NewContext]). The claims are shared by every reader of the context:
// treat them as read-only. It does not allocate.
func ClaimsFromContext(ctx context.Context) (*Claims, bool) {
	info, ok := ctx.Value(infoKey{}).(*authInfo)
	if !ok || info.claims == nil {
		return nil, false
	}
	return info.claims, true
}
