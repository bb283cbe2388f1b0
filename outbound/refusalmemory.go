package outbound

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/go-tokenexchange/tokenexchange/internal/ratelog"
)

// RefusalMemory shares the refusal windows (see [Options.RefusalWindow])
// of several transports, such as the replicas of a gateway, so that a
// downstream refusing every fresh token costs the fleet's authority two
// exchanges per subject and window, not two per replica. A key is a
// SHA-256 digest naming a route (by its mode and destination) and, on an
// exchange route, the subject (and the actor's token): never a token.
// Transports whose route tables name the same destinations agree on the
// keys.
//
// Implementations must be safe for concurrent use and should answer
// within tens of milliseconds: the transport asks only on the path of a
// downstream 401, and gives each call a deadline of at most
// [RefusalMemoryTimeout].
type RefusalMemory interface {
	// Remember records that a refusal window is open for key for ttl
	// from now.
	Remember(ctx context.Context, key [32]byte, ttl time.Duration) error
	// Recall returns how long the refusal window of key stays open, or 0
	// when none is.
	Recall(ctx context.Context, key [32]byte) (time.Duration, error)
}

// RefusalMemoryTimeout bounds each call of a [Transport] to its
// [RefusalMemory].
const RefusalMemoryTimeout = 100 * time.Millisecond

// memoryOp is a call to the RefusalMemory (tokenexchange.operation of
// tokenexchange.outbound.refusal_memory.calls).
type memoryOp int

const (
	opRecall memoryOp = iota
	opRemember
	numMemoryOps
)

func (o memoryOp) String() string {
	if o == opRemember {
		return "remember"
	}
	return "recall"
}

// memoryOutcome is what a call to the RefusalMemory gave
// (tokenexchange.outcome of tokenexchange.outbound.refusal_memory.calls).
type memoryOutcome int

const (
	memoryHit   memoryOutcome = iota // recall: a window is open
	memoryMiss                       // recall: none is
	memoryOK                         // remember: stored
	memoryError                      // either failed or timed out
	numMemoryOutcomes
)

func (o memoryOutcome) String() string {
	switch o {
	case memoryHit:
		return "hit"
	case memoryMiss:
		return "miss"
	case memoryOK:
		return "ok"
	}
	return "error"
}

// sharedRefusals is a Transport's RefusalMemory with what it needs to
// call it: the log of its failures and recoveries.
type sharedRefusals struct {
	mem     RefusalMemory
	log     *ratelog.Limiter // nil when the transport logs nothing
	failing atomic.Bool      // the last call failed
}

func newSharedRefusals(mem RefusalMemory, logger *slog.Logger, now func() time.Time) *sharedRefusals {
	if isNil(mem) {
		return nil
	}
	s := &sharedRefusals{mem: mem}
	if logger != nil {
		s.log = ratelog.New(logger, time.Minute, now)
	}
	return s
}

// recall asks the shared memory how long key's refusal window stays open;
// 0 when none is or the memory failed.
func (t *Transport) recall(ctx context.Context, key [32]byte) time.Duration {
	s := t.shared
	cctx, cancel := context.WithTimeout(ctx, RefusalMemoryTimeout)
	ttl, err := s.mem.Recall(cctx, key)
	cancel()
	switch {
	case err != nil && ctx.Err() != nil:
		return 0 // the caller left: not the memory's failure
	case err != nil:
		t.memoryDone(ctx, opRecall, memoryError, err)
		return 0
	case ttl > 0:
		t.memoryDone(ctx, opRecall, memoryHit, nil)
		return ttl
	}
	t.memoryDone(ctx, opRecall, memoryMiss, nil)
	return 0
}

// remember tells the shared memory that key's refusal window is open for
// ttl. It does not end with ctx (the window is opened for the fleet, not
// for this caller), only with its own deadline.
func (t *Transport) remember(ctx context.Context, key [32]byte, ttl time.Duration) {
	s := t.shared
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), RefusalMemoryTimeout)
	err := s.mem.Remember(cctx, key, ttl)
	cancel()
	if err != nil {
		t.memoryDone(ctx, opRemember, memoryError, err)
		return
	}
	t.memoryDone(ctx, opRemember, memoryOK, nil)
}

// memoryDone counts a call to the shared memory, and logs a failure
// (Warn) or the first success after failures (Info), at most one record
// of a kind a minute.
func (t *Transport) memoryDone(ctx context.Context, op memoryOp, o memoryOutcome, err error) {
	s := t.shared
	if t.tel != nil {
		t.tel.memory.Add(ctx, 1, t.tel.memoryOpts[op][o]...)
	}
	if err != nil {
		t.stats.memoryErrors.Add(1)
		s.failing.Store(true)
		if s.log != nil {
			s.log.Log(ctx, slog.LevelWarn, "outbound: the shared refusal memory failed; this transport's own windows still hold",
				"operation", op.String(), "error", err)
		}
		return
	}
	if s.failing.CompareAndSwap(true, false) && s.log != nil {
		s.log.Log(ctx, slog.LevelInfo, "outbound: the shared refusal memory answers again")
	}
}
