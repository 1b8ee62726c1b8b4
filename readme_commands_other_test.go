//go:build !linux

package sagemakercallback_test

import (
	"os"
	"testing"
)

// TestReadmeCommands runs only on Linux, where AWS's Lambda Runtime
// Interface Emulator runs (see readme_commands_linux_test.go).
func TestReadmeCommands(t *testing.T) {
	if os.Getenv("CALLBACK_REQUIRE_RIE") == "1" {
		t.Fatal("CALLBACK_REQUIRE_RIE=1, but the Lambda Runtime Interface Emulator runs on Linux only")
	}
	t.Skip("the README's Lambda commands need the Lambda Runtime Interface Emulator, which runs on Linux only")
}
