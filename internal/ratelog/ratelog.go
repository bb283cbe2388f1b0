// Package ratelog keeps background failures from flooding a log: a
// [Limiter] lets through the first record of each kind, then at most one
// per interval, and says in the next record it lets through how many it
// held back meanwhile.
//
// The kinds are names from the program's code (such as "refresh failed"),
// never text from the network, so that their number stays bounded.
package ratelog

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// maxKinds bounds the kinds a Limiter remembers. Kinds are constants in
// the code, so this is only a guard: past it, records of new kinds are
// let through without limit.
const maxKinds = 256

// Limiter is a rate-limited front of a [*slog.Logger]. It is safe for
// concurrent use; the zero value is not usable: create one with [New].
type Limiter struct {
	logger *slog.Logger
	every  time.Duration
	now    func() time.Time

	mu    sync.Mutex
	kinds map[string]*kind
}

type kind struct {
	last       time.Time // when a record of this kind was last let through
	suppressed int       // records held back since
}

// New returns a Limiter that writes to logger (slog.Default() when nil)
// at most one record of a kind per every (one minute when every <= 0),
// reading the time from now (time.Now when nil).
func New(logger *slog.Logger, every time.Duration, now func() time.Time) *Limiter {
	if logger == nil {
		logger = slog.Default()
	}
	if every <= 0 {
		every = time.Minute
	}
	if now == nil {
		now = time.Now
	}
	return &Limiter{logger: logger, every: every, now: now, kinds: make(map[string]*kind)}
}

// Logger returns the logger records go to.
func (l *Limiter) Logger() *slog.Logger { return l.logger }

// Log writes a record with msg as its message and kind, unless a record
// of the same kind was written less than the interval ago: then it only
// counts it. A record written after some were held back carries their
// number as the attribute "suppressed". Nothing is counted for a level
// the logger does not write.
func (l *Limiter) Log(ctx context.Context, level slog.Level, msg string, args ...any) {
	if !l.logger.Enabled(ctx, level) {
		return
	}
	n, ok := l.admit(msg)
	if !ok {
		return
	}
	if n > 0 {
		args = append(args, slog.Int("suppressed", n))
	}
	l.logger.Log(ctx, level, msg, args...)
}

// admit reports whether a record of kind msg may be written now, and how
// many were held back since the last one.
func (l *Limiter) admit(msg string) (suppressed int, ok bool) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	k := l.kinds[msg]
	if k == nil {
		if len(l.kinds) >= maxKinds {
			return 0, true
		}
		l.kinds[msg] = &kind{last: now}
		return 0, true
	}
	if now.Sub(k.last) < l.every {
		k.suppressed++
		return 0, false
	}
	n := k.suppressed
	k.last, k.suppressed = now, 0
	return n, true
}
