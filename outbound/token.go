package outbound

import (
	"context"
	"errors"

	"github.com/go-tokenexchange/tokenexchange/authority"
)

// errNoToken stands for a token source that returned neither a token nor
// an error.
var errNoToken = errors.New("token source returned no token")

// token returns the token of an exchange or own-token route.
func (r *route) token(ctx context.Context, subject string) (*authority.Token, error) {
	var (
		tok *authority.Token
		err error
	)
	if r.mode == ModeExchange {
		tok, err = r.exchange.ExchangePrepared(ctx, subject, r.target)
	} else {
		tok, err = r.tokens.Token(ctx)
	}
	if err == nil && (tok == nil || tok.AccessToken == "") {
		err = errNoToken
	}
	return tok, err
}

// fresh returns a token other than refused, which a downstream service
// answered with 401: the current one when another request already replaced
// it, otherwise a new one after dropping refused.
func (r *route) fresh(ctx context.Context, subject string, refused *authority.Token) (*authority.Token, error) {
	tok, err := r.token(ctx, subject)
	if err != nil || tok.AccessToken != refused.AccessToken {
		return tok, err
	}
	if r.mode == ModeExchange {
		r.exchange.InvalidatePrepared(subject, r.target, refused)
	} else {
		r.tokens.Invalidate(refused)
	}
	tok, err = r.token(ctx, subject)
	if err == nil && tok.AccessToken == refused.AccessToken {
		err = errors.New("token source returned the refused token again")
	}
	return tok, err
}
