package testutil

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestLogBuffer(t *testing.T) {
	var l LogBuffer
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fmt.Fprintf(&l, "line %d\n", i)
		}()
	}
	wg.Wait()
	if got := strings.Count(l.String(), "\n"); got != 50 {
		t.Fatalf("%d lines, want 50", got)
	}
	l.Reset()
	if l.String() != "" {
		t.Fatalf("not empty after Reset: %q", l.String())
	}
}
