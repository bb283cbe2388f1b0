package outbound

import (
	"context"
	"reflect"

	"github.com/go-tokenexchange/tokenexchange/authority"
	"github.com/go-tokenexchange/tokenexchange/exchange"
)

// Exchanger performs the exchanges of [ModeExchange] routes: it returns a
// token issued for target on behalf of subject, the caller's token.
// [*exchange.Exchanger] is the implementation (cached, one exchange per
// key however many requests ask); a wrapper of it (metrics, tracing) or
// another implementation can take its place.
//
// ExchangePrepared must be safe for concurrent use, honour ctx, and return
// either a token valid at the time of the call and issued for this subject
// and target (never another subject's), or an error that contains no
// token. The transport does not modify the returned Token. Its errors are
// returned to the caller wrapped in a [*TokenError]; [StatusFor] maps the
// errors of [*exchange.Exchanger] ([exchange.ErrSubjectExpired],
// [exchange.ErrBusy], ..., and a wrapped *[authority.Error]) to a status,
// and any other to 502.
type Exchanger interface {
	ExchangePrepared(ctx context.Context, subject authority.SubjectToken, target *exchange.Prepared) (*authority.Token, error)
}

// ExchangeInvalidator is implemented by an [Exchanger] that caches its
// tokens, so that a token a downstream service refused with 401 is not
// handed out again: InvalidatePrepared drops refused for subject and
// target, and the next ExchangePrepared returns another token. It must do
// nothing when the cache has already moved on to another token, and
// reports whether it dropped one. It mirrors [authority.Invalidator] for
// an own-token route's [authority.TokenSource].
//
// Without it, the transport's one retry after a 401 asks the Exchanger
// again and gives up (passing the 401 on) when it returns the refused
// token.
type ExchangeInvalidator interface {
	InvalidatePrepared(ctx context.Context, subject authority.SubjectToken, target *exchange.Prepared, refused *authority.Token) bool
}

// The exchanger of package exchange implements both interfaces.
var (
	_ Exchanger           = (*exchange.Exchanger)(nil)
	_ ExchangeInvalidator = (*exchange.Exchanger)(nil)
)

// isNil reports whether v is nil or holds a nil pointer (or another nil
// value of a kind that can be nil), such as a nil *exchange.Exchanger in
// an [Exchanger]: that is no exchanger, and calling it would panic.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan, reflect.Interface:
		return rv.IsNil()
	}
	return false
}
