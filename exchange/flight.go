package exchange

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-tokenexchange/tokenexchange/authority"
)

// flight makes the one request to the authority for key and caches the
// result. It runs detached from the caller that started it, on its own
// deadline, which also bounds its wait for a free slot; every caller
// waiting on the key receives its result.
func (x *Exchanger) flight(ctx context.Context, key Key, subject, actor string, p *Prepared) (*authority.Token, error) {
	// A flight that finished just before this one started may have filled
	// the cache.
	if e, ok := x.cache.Get(key); ok && e != nil && e.Token != nil && x.opts.Now().Before(e.Expires) {
		return e.Token, nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), x.opts.FlightTimeout)
	defer cancel()
	select {
	case x.slots <- struct{}{}:
	case <-ctx.Done():
		x.stats.errors.Add(1)
		return nil, fmt.Errorf("exchange: waiting for a free exchange slot: %w", ctx.Err())
	}
	defer func() { <-x.slots }()
	return x.exchange(ctx, key, subject, actor, p)
}

// exchange asks the authority, holding a slot, and caches the token it
// issues. A permanent refusal is remembered in the negative cache.
func (x *Exchanger) exchange(ctx context.Context, key Key, subject, actor string, p *Prepared) (*authority.Token, error) {
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
	e, ok := x.newEntry(now, tok, subject)
	if !ok || tok.Expired(now) {
		x.stats.errors.Add(1)
		return nil, errors.New("exchange: the authority issued an expired token")
	}
	if ttl := e.Expires.Sub(now); ttl > 0 {
		x.cache.Set(key, e, ttl)
	}
	return tok, nil
}

// refresh starts a background exchange for key, whose cached entry is old,
// unless one is already in flight or no slot is free (then a hit tries
// again after refreshRetry). The hit that called it does not wait. If the
// refresh fails the old entry keeps being served until it expires, unless
// the authority refused permanently: then the entry is removed, so that
// the next request gets the refusal.
func (x *Exchanger) refresh(ctx context.Context, key Key, old *Entry, subject, actor string, p *Prepared) {
	// The result channel is buffered: nobody needs to read it.
	x.flights.DoChan(string(key[:]), func() (any, error) {
		select {
		case x.slots <- struct{}{}:
		default:
			return nil, errRefreshSkipped
		}
		defer func() { <-x.slots }()
		x.stats.refreshes.Add(1)
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), x.opts.FlightTimeout)
		defer cancel()
		tok, err := x.exchange(ctx, key, subject, actor, p)
		if err != nil {
			if authority.IsPermanent(err) {
				compareAndDelete(x.cache, key, holds(old.Token))
			}
			x.stats.refreshFailures.Add(1)
			return nil, err
		}
		x.claims.Invalidate(key)
		return tok, nil
	})
}
