package callbacktest_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when a goroutine outlives them: every
// Server's Close must leave nothing behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
