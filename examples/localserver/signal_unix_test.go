//go:build unix

package main

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSignalStopsProcess runs the program as a process and stops it with
// SIGINT, then SIGTERM.
func TestSignalStopsProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		cmd := exec.Command(os.Args[0], "-addr", "127.0.0.1:0", "-token", "AbCdE12345")
		cmd.Env = append(os.Environ(), "LOCALSERVER_RUN_MAIN=1", "GORACE=atexit_sleep_ms=0")
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr syncBuffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		var url string
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				url = u
			}
			if strings.HasPrefix(sc.Text(), "stop with") {
				break
			}
		}
		if err := fail(t, client(url), "AbCdE12345", nil); err != nil {
			t.Errorf("%v: call: %v", sig, err)
		}
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		var rest bytes.Buffer
		copied := make(chan struct{})
		go func() {
			_, _ = io.Copy(&rest, stdout)
			close(copied)
		}()
		errc := make(chan error, 1)
		go func() {
			<-copied
			errc <- cmd.Wait()
		}()
		select {
		case err := <-errc:
			if err != nil {
				t.Errorf("%v: exit: %v\n%s", sig, err, stderr.String())
			}
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-errc
			t.Fatalf("%v: the process did not stop", sig)
		}
		if log := stderr.String(); !strings.Contains(log, "stopped") || !strings.Contains(log, "-> 200 ") {
			t.Errorf("%v: log:\n%s", sig, log)
		}
		if !strings.HasSuffix(rest.String(), ": Failed\nsteps: Executing 0, Failed 1, Succeeded 0\n") || !strings.HasPrefix(rest.String(), "completed step Token(sha256:") {
			t.Errorf("%v: summary %q", sig, rest.String())
		}
	}
}
