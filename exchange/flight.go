package exchange

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-tokenexchange/tokenexchange/authority"
)

// flight makes the one request to the authority for key and caches the
// result. It runs detached from the caller that started it, on its own
// deadline; every caller waiting on the key receives its result.
func (x *Exchanger) flight(ctx context.Context, key Key, subject, actor string, p *Prepared, refresh bool) (*authority.Token, error) {
	if !refresh {
		// A flight that finished just before this one started may have
		// filled the cache.
		if e, ok := x.cache.Get(key); ok && e != nil && e.Token != nil && x.opts.Now().Before(e.Expires) {
			return e.Token, nil
		}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), x.opts.FlightTimeout)
	defer cancel()
	x.stats.exchanges.Add(1)
	tok, err := x.client.Exchange(ctx, p.request(subject, actor))
	if err == nil && tok == nil {
		err = errors.New("authority returned no token")
	}
	if err != nil {
		x.stats.errors.Add(1)
		if x.negative != nil && authority.IsPermanent(err) {
			x.negative.Set(key, err)
		}
		return nil, fmt.Errorf("exchange: %w", err)
	}
	now := x.opts.Now()
	if tok.Expired(now) {
		x.stats.errors.Add(1)
		return nil, errors.New("exchange: the authority issued an expired token")
	}
	e := x.newEntry(now, tok, subject)
	if ttl := e.Expires.Sub(now); ttl > 0 {
		x.cache.Set(key, e, ttl)
	}
	return tok, nil
}

// refresh starts a background exchange for key, unless one is already in
// flight. The hit that called it does not wait; if the refresh fails the
// old entry keeps being served until it expires.
func (x *Exchanger) refresh(ctx context.Context, key Key, subject, actor string, p *Prepared) {
	x.stats.refreshes.Add(1)
	// The result channel is buffered: nobody needs to read it.
	x.flights.DoChan(string(key[:]), func() (any, error) {
		tok, err := x.flight(ctx, key, subject, actor, p, true)
		if err != nil {
			x.stats.refreshFailures.Add(1)
		}
		return tok, err
	})
}
