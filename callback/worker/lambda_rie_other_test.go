//go:build !linux

package worker_test

import (
	"os"
	"testing"
)

// TestLambdaEmulator runs only on Linux, where AWS's Lambda Runtime
// Interface Emulator runs (see lambda_rie_test.go).
func TestLambdaEmulator(t *testing.T) {
	if os.Getenv("CALLBACK_REQUIRE_RIE") == "1" {
		t.Fatal("CALLBACK_REQUIRE_RIE=1, but the Lambda Runtime Interface Emulator runs on Linux only")
	}
	t.Skip("the Lambda Runtime Interface Emulator runs on Linux only")
}
