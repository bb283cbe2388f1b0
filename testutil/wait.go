package testutil

import (
	"runtime"
	"testing"
	"time"
)

// waitTimeout is how long WaitFor polls before it fails the test.
const waitTimeout = 10 * time.Second

// WaitFor polls cond until it holds, for work a background goroutine of the
// code under test does where no event can be waited on (a background
// refresh, a subscription delivering, a counter a goroutine bumps). Wait on
// a channel or a signal instead whenever one exists.
//
// It fails the test with tb.Fatalf, naming what, after 10 seconds. It
// never lets fake time pass: it only yields and sleeps a millisecond of
// real time between polls, so a [Clock] stays where the test put it.
// Call it from the test's goroutine.
func WaitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	waitFor(tb, what, cond, waitTimeout)
}

// waitFor is WaitFor with its deadline as a parameter, for tests.
func waitFor(tb testing.TB, what string, cond func() bool, timeout time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
}
