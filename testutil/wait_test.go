package testutil

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fatalTB records a Fatalf and ends its goroutine, as testing.T does.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestWaitForReturnsOnceTheConditionHolds(t *testing.T) {
	var done atomic.Bool
	go func() {
		time.Sleep(5 * time.Millisecond)
		done.Store(true)
	}()
	polls := 0
	WaitFor(t, "the goroutine", func() bool { polls++; return done.Load() })
	assert.True(t, done.Load())
	assert.Greater(t, polls, 1, "the condition was polled until it held")
}

func TestWaitForFailsAfterItsDeadline(t *testing.T) {
	tb := &fatalTB{}
	ended := make(chan struct{})
	returned := false
	go func() {
		defer close(ended)
		waitFor(tb, "nothing", func() bool { return false }, 20*time.Millisecond)
		returned = true
	}()
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		require.FailNow(t, "waitFor did not give up")
	}
	assert.False(t, returned, "waitFor returned instead of failing")
	assert.Equal(t, "timed out waiting for nothing", tb.msg)
}
