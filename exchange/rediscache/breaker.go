package rediscache

import (
	"sync"
	"sync/atomic"
	"time"
)

// breakerState is the state of the circuit breaker, also the value of
// the breaker state gauge.
type breakerState int64

const (
	stateClosed   breakerState = 0 // Redis is used
	stateHalfOpen breakerState = 1 // one trial call is let through
	stateOpen     breakerState = 2 // calls fail fast with ErrUnavailable
)

// breakerNames are the words for the states, for String and logs.
var breakerNames = [...]string{stateClosed: "closed", stateHalfOpen: "half_open", stateOpen: "open"}

func (s breakerState) String() string { return breakerNames[s] }

// breaker stops calls to Redis after threshold consecutive failures, for
// a cool-down that starts at cooldown and doubles with each failed trial
// up to maxCooldown; after the cool-down it lets one trial call through,
// whose success closes it again.
type breaker struct {
	threshold   int
	cooldown    time.Duration
	maxCooldown time.Duration
	now         func() time.Time

	// state mirrors st for lock-free reads: the fast path of a closed
	// breaker and the gauge.
	state    atomic.Int64
	openings atomic.Int64
	// failures counts consecutive failures while closed; written with mu
	// held, read without it by the fast path of a success.
	failures atomic.Int64

	mu    sync.Mutex // guards the fields below
	st    breakerState
	wait  time.Duration // the cool-down of the current or next opening
	until time.Time     // end of the cool-down while open
	trial bool          // a trial call is out while half-open
}

func newBreaker(threshold int, cooldown, maxCooldown time.Duration, now func() time.Time) *breaker {
	return &breaker{threshold: threshold, cooldown: cooldown, maxCooldown: maxCooldown, now: now, wait: cooldown}
}

// allow reports whether a call may go to Redis now, and whether it is
// the trial call of a half-open breaker (whose verdict the caller must
// give with done).
func (b *breaker) allow() (ok, trial bool) {
	if breakerState(b.state.Load()) == stateClosed {
		return true, false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.st {
	case stateClosed:
		return true, false
	case stateOpen:
		if b.now().Before(b.until) {
			return false, false
		}
		b.set(stateHalfOpen)
		b.trial = true
		return true, true
	default: // half-open
		if b.trial {
			return false, false
		}
		b.trial = true
		return true, true
	}
}

// verdict is what a call let through by allow tells the breaker.
type verdict int

const (
	// succeeded: Redis answered (a miss and an error reply are answers).
	succeeded verdict = iota
	// failed: Redis did not answer in time, or the connection failed.
	failed
	// undecided: the call says nothing of Redis (its caller's context
	// ended first).
	undecided
)

// transition is what done changed, for the caller to log.
type transition int

const (
	noChange  transition = iota
	tripped              // the breaker opened (again)
	recovered            // a trial succeeded: the breaker closed
)

// done records the verdict of a call that allow let through, and returns
// what changed and, when the breaker opened, for how long.
func (b *breaker) done(trial bool, v verdict) (transition, time.Duration) {
	if !trial && v == succeeded && breakerState(b.state.Load()) == stateClosed {
		// The common case: nothing to reset unless failures were counted.
		if b.failures.Load() != 0 {
			b.mu.Lock()
			b.failures.Store(0)
			b.mu.Unlock()
		}
		return noChange, 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if trial {
		b.trial = false
		switch v {
		case succeeded:
			b.set(stateClosed)
			b.failures.Store(0)
			b.wait = b.cooldown
			return recovered, 0
		case failed:
			b.wait = min(2*b.wait, b.maxCooldown)
			return tripped, b.open()
		default:
			// No verdict: let the next call try.
			return noChange, 0
		}
	}
	if b.st != stateClosed {
		// A call let through before the breaker opened: its verdict is
		// stale.
		return noChange, 0
	}
	switch v {
	case succeeded:
		b.failures.Store(0)
	case failed:
		if b.failures.Add(1) >= int64(b.threshold) {
			b.failures.Store(0)
			return tripped, b.open()
		}
	}
	return noChange, 0
}

// open opens the breaker for b.wait and returns it. b.mu must be held.
func (b *breaker) open() time.Duration {
	b.set(stateOpen)
	b.until = b.now().Add(b.wait)
	b.openings.Add(1)
	return b.wait
}

// set changes the state. b.mu must be held.
func (b *breaker) set(s breakerState) {
	b.st = s
	b.state.Store(int64(s))
}

// current returns the state.
func (b *breaker) current() breakerState { return breakerState(b.state.Load()) }
