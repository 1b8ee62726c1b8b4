//go:build linux

package sagemakercallback_test

import (
	"bufio"
	"errors"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The pinned emulator, as the README and .ci/run install it.
const rieModule = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d"

// TestReadmeCommands runs the README's commands as a newcomer copies them, in
// order: the Lambda section's local try, as it stands (on free loopback ports
// instead of 8080, 9000 and 9001), then each later section whose commands
// start with the local server ("go run ./examples/localserver ... # in one
// shell; in another:"), on the port the Lambda try used: the server in a
// shell of its own, stopped with Ctrl-C at the end, the other lines in a
// second shell with no AWS configuration. After each block, nothing it
// started may be left running, the ports must be free, and git must see the
// tree as it was (no build output left untracked). What each section's
// commands print is checked by its own test (TestDocCommands,
// TestReadmeStuckSteps, ...); this one checks that they follow each other.
//
// It needs aws-lambda-rie's module in the module cache (the README installs
// the emulator from it, offline here) and Debian's AWS CLI for the sections
// after the Lambda one; without them it skips (fails, with
// CALLBACK_REQUIRE_RIE=1, when the emulator is missing).
func TestReadmeCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes and runs the go command; skipped under -short")
	}
	lambdaSection := readmeSection(t, "## Running on AWS Lambda")
	lambdaTry := blockWith(t, lambdaSection, "aws-lambda-rie")

	// The emulator's module must be in the module cache: the block installs
	// it from there, offline.
	check := exec.Command("go", "install", rieModule)
	check.Env = append(scriptEnv(t), "GOBIN="+t.TempDir())
	if out, err := check.CombinedOutput(); err != nil {
		msg := "aws-lambda-rie is not in the module cache (go install " + rieModule + "): " + strings.TrimSpace(string(out))
		if os.Getenv("CALLBACK_REQUIRE_RIE") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	status := gitStatus(t)

	// The Lambda section's try, as one shell runs it.
	server, rie, api := freeAddr(t), freeAddr(t), freeAddr(t)
	script := strings.Join(lambdaTry, "\n")
	for from, to := range map[string]string{"127.0.0.1:8080": server, "127.0.0.1:9000": rie, "127.0.0.1:9001": api} {
		if !strings.Contains(script, from) {
			t.Fatalf("the Lambda section's block does not use %s", from)
		}
		script = strings.ReplaceAll(script, from, to)
	}
	out := runScript(t, script, scriptEnv(t), 2*time.Minute)
	for _, want := range []string{`{"batchItemFailures":null}`, "steps: Executing 0, Failed 0, Succeeded 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("the Lambda section's commands did not print %q:\n%s", want, out)
		}
	}
	checkFree(t, server, rie, api)
	checkStatus(t, status, "the Lambda section's commands")
	if t.Failed() {
		return
	}

	// The later sections that start the local server, in order.
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	later := string(readme)[strings.Index(string(readme), lambdaSection)+len(lambdaSection):]
	var sections []string
	var blocks [][]string
	for _, part := range strings.Split("\n"+later, "\n## ") { // later starts with a heading
		for _, b := range shBlocks(part) {
			if strings.HasPrefix(b[0], "go run ./examples/localserver ") {
				sections = append(sections, "## "+strings.SplitN(part, "\n", 2)[0])
				blocks = append(blocks, b)
			}
		}
	}
	if len(blocks) == 0 {
		t.Fatal("no section after the Lambda one starts the local server")
	}
	if _, err := os.Stat("/usr/bin/aws"); err != nil {
		t.Skipf("the sections after the Lambda one (%s) need Debian's AWS CLI at /usr/bin/aws (apt-get install awscli)", strings.Join(sections, ", "))
	}
	for i, b := range blocks {
		runServerBlock(t, sections[i], b, server)
		checkStatus(t, status, sections[i])
		if t.Failed() {
			return
		}
	}
}

// runServerBlock runs a block whose first line starts the local server "in
// one shell" and whose other lines run "in another": the server in a
// process group of its own, as a shell's job, on addr; the other lines in a
// shell with no AWS configuration (HOME a new directory, PATH the system's
// and the go command's). Then Ctrl-C stops the server, and nothing of the
// server's may be left running or listening.
func runServerBlock(t *testing.T, section string, block []string, addr string) {
	t.Helper()
	first, _, _ := strings.Cut(block[0], "#")
	args := strings.Fields(strings.ReplaceAll(first, "127.0.0.1:8080", addr))
	srv := exec.Command(args[0], args[1:]...)
	srv.Env = scriptEnv(t)
	srv.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its own group, as a shell's job: Ctrl-C reaches go run and the server
	stdout, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	srv.Stderr = &stderr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	listening := make(chan bool, 1)
	var srvOut syncBuffer
	go func() {
		sc := bufio.NewScanner(stdout)
		said := false
		for sc.Scan() {
			srvOut.Write([]byte(sc.Text() + "\n"))
			if !said && strings.HasPrefix(sc.Text(), "listening on ") {
				said = true
				listening <- true
			}
		}
		if !said {
			listening <- false
		}
		exited <- srv.Wait()
	}()
	stopped := false
	defer func() {
		if !stopped {
			_ = syscall.Kill(-srv.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	}()
	select {
	case ok := <-listening:
		if !ok {
			t.Fatalf("%s: the local server did not start (is %s still taken?):\n%s", section, addr, stderr.String())
		}
	case <-time.After(3 * time.Minute):
		t.Fatalf("%s: the local server did not start in 3 minutes:\n%s", section, stderr.String())
	}

	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"HOME=" + t.TempDir(), "PATH=/usr/bin:/bin:" + filepath.Dir(goBin), "LANG=C.UTF-8", "GOTOOLCHAIN=local"}
	for _, v := range []string{"GOCACHE", "GOMODCACHE", "GOPATH"} { // the caches a newcomer's HOME would hold
		val, err := exec.Command("go", "env", v).Output()
		if err != nil {
			t.Fatal(err)
		}
		env = append(env, v+"="+strings.TrimSpace(string(val)))
	}
	env = append(env, "GOPROXY=off", "GOSUMDB=off")
	rest := strings.ReplaceAll(strings.Join(block[1:], "\n"), "127.0.0.1:8080", addr)
	out := runScript(t, rest, env, 2*time.Minute)
	t.Logf("%s: %d commands' lines run against the server on %s, %d bytes of output", section, len(block)-1, addr, len(out))

	_ = syscall.Kill(-srv.Process.Pid, syscall.SIGINT) // Ctrl-C in the server's shell
	select {
	case <-exited:
		// go run exits with status 1 after an interrupt, whatever its
		// program's status; the server's log and summary tell its stop.
		stopped = true
		if !strings.Contains(stderr.String(), "stopped") || !strings.Contains(srvOut.String(), "steps: ") {
			t.Errorf("%s: the local server did not stop cleanly on Ctrl-C:\n%s\n%s", section, srvOut.String(), stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: the local server did not stop on Ctrl-C", section)
	}
	checkGone(t, srv.Process.Pid, section+": the local server")
	checkFree(t, addr)
}

// scriptEnv is the environment of a newcomer's shell: the go command's own
// settings, offline, and no AWS configuration. The module cache serves as
// the module proxy (GOPROXY=off would refuse go install's look-up of the
// emulator module's deprecation).
func scriptEnv(t *testing.T) []string {
	t.Helper()
	cache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	proxy := (&url.URL{Scheme: "file", Path: filepath.Join(strings.TrimSpace(string(cache)), "cache", "download")}).String()
	return append(env, "GOPROXY="+proxy, "GOSUMDB=off")
}

// runScript runs script with sh -e in the repository's root, in a process
// group of its own, and returns its output. It fails the test if the script
// fails, and if anything it started is still running once it has ended.
func runScript(t *testing.T, script string, env []string, timeout time.Duration) string {
	t.Helper()
	// Output goes to a file, not a pipe: a process left running would hold
	// a pipe open, and Wait with it.
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	output := func() string {
		b, _ := os.ReadFile(f.Name())
		return string(b)
	}
	cmd := exec.Command("/bin/sh", "-e", "-x", "-c", script)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("the commands failed: %v\n%s", err, output())
		}
	case <-time.After(timeout):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		t.Fatalf("the commands did not end in %v:\n%s", timeout, output())
	}
	checkGone(t, cmd.Process.Pid, "the commands")
	return output()
}

// checkGone fails the test if a process of the group pgid is still running
// ten seconds after its leader ended (room for a loaded machine: it returns
// as soon as the group is gone), and kills the group.
func checkGone(t *testing.T, pgid int, what string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
			return
		}
		if time.Now().After(deadline) {
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			t.Errorf("%s left a process running", what)
			return
		}
	}
}

// checkFree fails the test if one of addrs is still listened on.
func checkFree(t *testing.T, addrs ...string) {
	t.Helper()
	for _, a := range addrs {
		l, err := net.Listen("tcp", a)
		if err != nil {
			t.Errorf("%s is still taken: %v", a, err)
			continue
		}
		l.Close()
	}
}

// gitStatus returns git's view of the tree, untracked files included, or ""
// when this is not a git checkout.
func gitStatus(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("git", "status", "--porcelain", "--untracked-files=all").Output()
	if err != nil {
		t.Logf("not a git checkout (%v): the tree is not checked", err)
		return ""
	}
	return string(out)
}

// checkStatus fails the test if git's view of the tree changed.
func checkStatus(t *testing.T, before, what string) {
	t.Helper()
	if before == "" {
		return
	}
	if after := gitStatus(t); after != before {
		t.Errorf("%s changed the tree; git status before:\n%s\nafter:\n%s", what, before, after)
	}
}

// freeAddr returns a loopback address whose port is free now and was never
// returned before in this process. The port is drawn below Linux's ephemeral
// range (32768 and up by default), where the kernel picks the ports of
// outgoing connections and of other tests' listeners on port 0, which could
// take it between this check and the commands' own listen.
func freeAddr(t *testing.T) string {
	t.Helper()
	addrsMu.Lock()
	defer addrsMu.Unlock()
	for range 1000 {
		a := net.JoinHostPort("127.0.0.1", strconv.Itoa(20000+rand.IntN(12000)))
		if addrsGiven[a] {
			continue
		}
		l, err := net.Listen("tcp", a)
		if err != nil {
			continue
		}
		l.Close()
		addrsGiven[a] = true
		return a
	}
	t.Fatal("no free loopback port between 20000 and 32000")
	return ""
}

var (
	addrsMu    sync.Mutex
	addrsGiven = map[string]bool{}
)
