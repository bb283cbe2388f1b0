package exchange

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// ErrClosed is returned by [Exchanger.Exchange] and
// [Exchanger.ExchangePrepared] once [Exchanger.Close] has been called, and
// by the exchanges that Close ended. A gateway shutting down answers 503
// Service Unavailable.
var ErrClosed = errors.New("exchange: the Exchanger is closed")

// lifecycle tracks the background work of an Exchanger (flights and
// refreshes) so that Close can end it and wait for it.
type lifecycle struct {
	// base is the parent of every flight's and refresh's context: it
	// carries no value and is canceled by Close, ending their requests to
	// the authority. It is not a caller's context.
	base   context.Context
	cancel context.CancelFunc
	closed atomic.Bool // set by Close, read on every Exchange
	// mu orders work.Add (under !closed) before Close's work.Wait, as
	// sync.WaitGroup requires.
	mu        sync.Mutex
	work      sync.WaitGroup // flights and refreshes running
	closeOnce sync.Once
}

func (l *lifecycle) init() {
	l.base, l.cancel = context.WithCancel(context.Background())
}

// track registers one piece of background work and reports whether it may
// run: false once Close has begun. A true result must be followed by
// l.work.Done when the work ends.
func (l *lifecycle) track() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed.Load() {
		return false
	}
	l.work.Add(1)
	return true
}

// Close stops the Exchanger. Exchanges waiting for the authority, or for a
// free slot, are canceled (their callers get [ErrClosed]), a refresh-ahead
// exchange in progress is canceled, and Close waits until they have
// returned; it then stops the clean-up goroutines of the Exchanger's
// internal caches and closes the [MemoryCache] that New created when
// [Options.Cache] was nil. A Cache given in Options.Cache is not closed:
// whoever made it closes it, after every Exchanger that uses it.
//
// Call Close once the Exchanger is no longer used: deferred after New in a
// program, after the HTTP server's Shutdown has returned, or with
// t.Cleanup in a test. Without it, the goroutines of its caches run until
// the Exchanger is garbage-collected, which a goroutine-leak check such as
// go.uber.org/goleak reports. After Close, Exchange returns [ErrClosed];
// Invalidate and Stats still work. Close is safe for concurrent use and
// may be called more than once; every call returns once the Exchanger has
// stopped.
func (x *Exchanger) Close() {
	l := &x.life
	l.closeOnce.Do(func() {
		l.mu.Lock()
		l.closed.Store(true)
		l.mu.Unlock()
		l.cancel()
		if x.unsubscribe != nil {
			x.unsubscribe()
		}
		l.work.Wait()
		x.closeTelemetry()
		x.closeCaches()
	})
}

// closeCaches stops the goroutines of the caches the Exchanger made.
func (x *Exchanger) closeCaches() {
	if x.claims != nil {
		x.claims.StopAllGoroutines()
		x.claims.InvalidateAll()
	}
	if x.negative != nil {
		x.negative.StopAllGoroutines()
		x.negative.InvalidateAll()
	}
	if x.own != nil {
		x.own.Close()
	}
}
