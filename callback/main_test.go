package callback_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: the
// retry loop's timers, the fake's handlers and the SDK's connections must all
// be gone.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
