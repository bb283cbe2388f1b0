package main

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// TODO(merge): remove once exchange has Close: each gateway's
		// exchanger keeps its otter cache's cleanup goroutine.
		goleak.IgnoreAnyFunction("github.com/maypok86/otter/v2.periodicCleanUp[...]"),
	)
}
