package outbound

import (
	"context"
	"errors"

	"github.com/go-tokenexchange/tokenexchange/authority"
)

// errNoToken stands for a token source that returned neither a token nor
// an error.
var errNoToken = errors.New("token source returned no token")

// errSameToken stands for a token source that, asked for a fresh token
// after a downstream 401, returned the refused one again.
var errSameToken = errors.New("token source returned the refused token again")

// token returns the token of an exchange or own-token route.
func (r *route) token(ctx context.Context, subject authority.SubjectToken) (*authority.Token, error) {
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
func (r *route) fresh(ctx context.Context, subject authority.SubjectToken, refused *authority.Token) (*authority.Token, error) {
	tok, err := r.token(ctx, subject)
	if err != nil || tok.AccessToken != refused.AccessToken {
		return tok, err
	}
	r.drop(ctx, subject, refused)
	tok, err = r.token(ctx, subject)
	if err == nil && tok.AccessToken == refused.AccessToken {
		err = errSameToken
	}
	return tok, err
}

// drop removes refused from the exchanger's cache (an exchange route) or
// the token source (an own-token route), when they can invalidate: only
// while they still hold it, so a token that has already been replaced
// stays replaced.
func (r *route) drop(ctx context.Context, subject authority.SubjectToken, refused *authority.Token) {
	if r.mode == ModeExchange {
		if r.invalidator != nil {
			r.invalidator.InvalidatePrepared(ctx, subject, r.target, refused)
		}
	} else if inv, ok := r.tokens.(authority.Invalidator); ok {
		inv.Invalidate(refused)
	}
}

// bearerValue is an Authorization value and the token it was made from.
type bearerValue struct {
	tok   *authority.Token
	value string
}

// bearer returns "Bearer " + access. When tok (whose AccessToken is access)
// is the token of the route's last request, the value made then is reused:
// a token served from a cache is the same *authority.Token on every hit.
// Tokens are never modified after they are issued, and the access token is
// compared too, so a value is never served for another token. For a
// route serving many subjects in turn the pointer changes hands on every
// request: one small allocation more, and no growth.
func (r *route) bearer(tok *authority.Token, access string) string {
	if tok == nil {
		return "Bearer " + access
	}
	if b := r.last.Load(); b != nil && b.tok == tok && b.value[len("Bearer "):] == access {
		return b.value
	}
	b := &bearerValue{tok: tok, value: "Bearer " + access}
	r.last.Store(b)
	return b.value
}
