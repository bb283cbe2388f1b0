package outbound

import "sync/atomic"

// Stats counts what a [Transport] did about downstream 401 answers since
// it was created.
type Stats struct {
	// Retries are requests resent once with a fresh token after a 401.
	Retries uint64
	// FreshRefused are refusal windows begun: a downstream refused a
	// fresh token, or the token source had no other token (see
	// [Options.RefusalWindow]).
	FreshRefused uint64
	// PassedOn are 401 answers passed to the caller without a new token
	// or a resend because a refusal window was open (or had just begun)
	// for their route and subject.
	PassedOn uint64
	// SharedWindows are refusal windows learned from the shared
	// [RefusalMemory]: another transport had opened them. Their 401s
	// count in PassedOn too.
	SharedWindows uint64
	// RefusalMemoryErrors are failed calls to the [RefusalMemory] (the
	// transport then relies on its own windows).
	RefusalMemoryErrors uint64
	// RefusalEntries is the number of routes and subjects the transport
	// remembers now: open refusal windows and retries in progress.
	RefusalEntries int
}

// counters are the atomic counters behind [Stats].
type counters struct {
	retries, freshRefused, passedOn, sharedWindows, memoryErrors atomic.Uint64
}

// Stats returns the transport's counters. It is safe to call at any time.
func (t *Transport) Stats() Stats {
	return Stats{
		Retries:      t.stats.retries.Load(),
		FreshRefused: t.stats.freshRefused.Load(),
		PassedOn:     t.stats.passedOn.Load(),

		SharedWindows:       t.stats.sharedWindows.Load(),
		RefusalMemoryErrors: t.stats.memoryErrors.Load(),

		RefusalEntries: t.refusals.len(),
	}
}
