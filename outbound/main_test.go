package outbound_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when a goroutine outlives them.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// TODO(merge): remove once exchange has Close: the exchangers
		// built by these tests keep otter's clean-up goroutine.
		goleak.IgnoreTopFunction("github.com/maypok86/otter/v2.periodicCleanUp[...]"),
	)
}
