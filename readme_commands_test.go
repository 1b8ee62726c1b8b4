package sagemakercallback_test

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// readmeSection returns the text of README.md's section under heading (a
// whole line, as "## Install"), up to the next heading of the same level.
func readmeSection(t *testing.T, heading string) string {
	t.Helper()
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(readme)
	start := strings.Index(s, "\n"+heading+"\n")
	if start < 0 {
		t.Fatalf("README.md has no section %q", heading)
	}
	s = s[start+1+len(heading):]
	level := strings.IndexByte(heading, ' ') // 2 for "## "
	// The section ends at the next heading of its level or a higher one
	// (fewer #), outside code blocks, whose comments may start with #.
	inCode := false
	for off := 0; off < len(s); {
		line, _, _ := strings.Cut(s[off:], "\n")
		if strings.HasPrefix(line, "```") {
			inCode = !inCode
		}
		if n := len(line) - len(strings.TrimLeft(line, "#")); !inCode && n > 0 && n <= level && strings.HasPrefix(line[n:], " ") {
			return s[:off]
		}
		off += len(line) + 1
	}
	return s
}

// shBlock finds the sh code blocks of a Markdown text.
var shBlock = regexp.MustCompile("(?s)```sh\n(.*?)```")

// shBlocks returns the sh blocks of text, each as its lines.
func shBlocks(text string) [][]string {
	var blocks [][]string
	for _, m := range shBlock.FindAllStringSubmatch(text, -1) {
		blocks = append(blocks, strings.Split(strings.TrimSuffix(m[1], "\n"), "\n"))
	}
	return blocks
}

// blockWith returns the one sh block of text that has a line containing
// marker.
func blockWith(t *testing.T, text, marker string) []string {
	t.Helper()
	var found [][]string
	for _, b := range shBlocks(text) {
		if strings.Contains(strings.Join(b, "\n"), marker) {
			found = append(found, b)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d sh blocks contain %q, want 1", len(found), marker)
	}
	return found[0]
}

// offlineGoEnv is the environment for the go command in tests: the module
// cache only, never the network.
func offlineGoEnv() []string {
	return append(os.Environ(), "GOPROXY=off", "GOSUMDB=off", "GOWORK=off", "GOFLAGS=-mod=mod")
}

// TestReadmeInstall runs the README's Install commands in a new module that
// imports package callback, as someone would before the module is published:
// the replace onto this checkout, then go mod tidy; then the program builds.
// The dependencies come from the module cache. The module proxy is a loopback
// server that refuses every request, as proxy.golang.org and a direct fetch
// refuse a module that is not published: GOPROXY=off would hide a command
// that asks for one (go get of package callback asks for the module
// github.com/stepcallback/sagemaker-callback/callback, and fails), so the test
// fails if any request names this module.
func TestReadmeInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command; skipped under -short")
	}
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	block := blockWith(t, readmeSection(t, "## Install"), "go mod edit -replace")
	var (
		mu    sync.Mutex
		asked []string
	)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked = append(asked, r.URL.Path)
		mu.Unlock()
		http.Error(w, "This module version is not available.", http.StatusForbidden)
	}))
	defer proxy.Close()
	dir := t.TempDir()
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir = dir
		cmd.Env = append(offlineGoEnv(), "GOPROXY="+proxy.URL)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("go", "mod", "init", "example.com/try")
	prog := `package main

import (
	"fmt"

	"github.com/stepcallback/sagemaker-callback/callback"
)

func main() { fmt.Println(callback.MustParseToken("AbCdE12345")) }
`
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(prog), 0o644); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range block {
		if l, _, _ = strings.Cut(l, "#"); strings.TrimSpace(l) == "" {
			continue
		}
		args := strings.Fields(l)
		if args[0] != "go" {
			t.Fatalf("README's Install block runs %q; this test runs only go commands", l)
		}
		for i, a := range args {
			// The checkout, "../sagemaker-callback" in the README, is this one.
			if before, _, ok := strings.Cut(a, "=../sagemaker-callback"); ok {
				args[i] = before + "=" + root
			}
		}
		run(args...)
		n++
	}
	if n != 2 {
		t.Errorf("ran %d commands of README's Install block, want 2 (the replace, the tidy)", n)
	}
	mu.Lock()
	for _, p := range asked {
		if strings.Contains(p, "stepcallback") {
			t.Errorf("the Install commands asked the module proxy for %s, a module that is not published", p)
		}
	}
	mu.Unlock()
	run("go", "build", "-o", filepath.Join(dir, "try.exe"), ".")
	out, err := exec.Command(filepath.Join(dir, "try.exe")).Output()
	if err != nil || strings.TrimSpace(string(out)) == "" || strings.Contains(string(out), "AbCdE12345") {
		t.Errorf("the program built against the checkout printed %q, %v", out, err)
	}
}

// TestReadmeBuildOutputs checks that no go build of the README writes into
// the repository where git would see it: each writes outside the tree (a
// temporary directory, /dev/null), to a git-ignored path, or nothing (a
// pattern of several packages).
func TestReadmeBuildOutputs(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	git, gitErr := exec.LookPath("git")
	if gitErr == nil {
		gitErr = exec.Command(git, "rev-parse", "--is-inside-work-tree").Run() // not a checkout: a module's copy
	}
	n := 0
	for _, b := range shBlocks(string(readme)) {
		for _, l := range b {
			l, _, _ = strings.Cut(l, "#")
			args := strings.Fields(l)
			i := slices.Index(args, "build")
			if i < 1 || args[i-1] != "go" {
				continue
			}
			n++
			o := slices.Index(args, "-o")
			if o < 0 {
				if !strings.HasSuffix(args[len(args)-1], "...") {
					t.Errorf("%q writes its binary into the current directory", l)
				}
				continue
			}
			out := strings.Trim(args[o+1], `"`)
			if strings.HasPrefix(out, "$") || filepath.IsAbs(out) || out == os.DevNull {
				continue // a temporary directory, or outside the tree
			}
			if gitErr != nil {
				t.Logf("not in a git checkout (%v); cannot check that %s is ignored", gitErr, out)
				continue
			}
			cmd := exec.Command(git, "check-ignore", "-q", "--no-index", out)
			if err := cmd.Run(); err != nil {
				t.Errorf("%q writes %s, which git does not ignore (%v)", l, out, err)
			}
		}
	}
	if n < 3 {
		t.Errorf("found %d go build commands in README.md; want the first build's, the deploy's and the local try's", n)
	}
}

// TestReadmeOtelVersions checks that the versions the README names for
// examples/otel (OpenTelemetry, and AWS's adapters smithyoteltracing and
// smithyotelmetrics) are the ones its go.mod requires.
func TestReadmeOtelVersions(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	gomod, err := os.ReadFile(filepath.Join("examples", "otel", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	required := func(path string) string {
		m := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(path) + `\s+(v\S+)`).FindSubmatch(gomod)
		if m == nil {
			t.Fatalf("examples/otel/go.mod does not require %s", path)
		}
		return string(m[1])
	}
	otel := required("go.opentelemetry.io/otel")
	adapters := required("github.com/aws/smithy-go/tracing/smithyoteltracing")
	if v := required("github.com/aws/smithy-go/metrics/smithyotelmetrics"); v != adapters {
		t.Fatalf("examples/otel/go.mod requires smithyoteltracing %s and smithyotelmetrics %s; the README names one version", adapters, v)
	}
	for _, c := range []struct {
		re, want string
	}{
		{`OpenTelemetry (v\d+\.\d+\.\d+)`, otel},
		{`smithyotel(?:tracing|metrics)\S*(?:, |@)(v\d+\.\d+\.\d+)`, adapters},
	} {
		ms := regexp.MustCompile(c.re).FindAllSubmatch(readme, -1)
		if len(ms) == 0 {
			t.Errorf("README.md names no version matching %s", c.re)
		}
		for _, m := range ms {
			if string(m[1]) != c.want {
				t.Errorf("README.md says %q; examples/otel/go.mod requires %s", m[0], c.want)
			}
		}
	}
}

// TestReadmeLambdaMatchesDoc checks that the README's commands to try the
// Lambda function locally stand, line for line, in examples/lambda's
// documentation, so that the two cannot drift apart.
func TestReadmeLambdaMatchesDoc(t *testing.T) {
	block := blockWith(t, readmeSection(t, "## Running on AWS Lambda"), "aws-lambda-rie")
	doc, err := os.ReadFile(filepath.Join("examples", "lambda", "doc.go"))
	if err != nil {
		t.Fatal(err)
	}
	docLines := map[string]bool{}
	for _, l := range strings.Split(string(doc), "\n") {
		docLines[strings.TrimSpace(strings.TrimPrefix(l, "//"))] = true
	}
	for _, l := range block {
		if l = strings.TrimSpace(l); l != "" && !docLines[l] {
			t.Errorf("README line %q is not in examples/lambda/doc.go", l)
		}
	}
}

// TestReadmeSkipListing runs the README's command that lists what go test
// skips on one test that skips itself (TestFailOverhead, without
// CALLBACK_TIMING), and checks that the lines it keeps give the reason: go
// test -v prints a skip's reason before its "--- SKIP" line, so grep -A1
// showed the next test's "=== RUN" line instead.
func TestReadmeSkipListing(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command; skipped under -short")
	}
	block := blockWith(t, readmeSection(t, "### What `go test ./...` skips"), "--- SKIP")
	if len(block) != 1 {
		t.Fatalf("the block is %q, want one command", block)
	}
	goCmd, grepCmd, ok := strings.Cut(block[0], " | ")
	if !ok || strings.TrimSpace(goCmd) != "go test -v ./..." {
		t.Fatalf("the command is %q, want go test -v ./... | grep ...", block[0])
	}
	g := strings.Fields(grepCmd)
	if len(g) < 4 || g[0] != "grep" || g[2] != "-e" || strings.Join(g[3:], " ") != "'--- SKIP'" {
		t.Fatalf("the grep is %q, want grep -A|-B|-CN -e '--- SKIP'", grepCmd)
	}
	var before, after int
	n, err := strconv.Atoi(g[1][2:])
	if err != nil {
		t.Fatalf("grep's context %q: %v", g[1], err)
	}
	switch g[1][:2] {
	case "-A":
		after = n
	case "-B":
		before = n
	case "-C":
		before, after = n, n
	default:
		t.Fatalf("grep's option %q, want -A, -B or -C", g[1])
	}
	cmd := exec.Command("go", "test", "-v", "-count=1", "-run", "^TestFailOverhead$", "./callback/")
	cmd.Env = append(offlineGoEnv(), "CALLBACK_TIMING=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go test: %v\n%s", err, out)
	}
	lines := strings.Split(string(out), "\n")
	var kept []string
	for i, l := range lines {
		if strings.Contains(l, "--- SKIP") {
			kept = append(kept, lines[max(0, i-before):min(len(lines), i+after+1)]...)
		}
	}
	if !strings.Contains(strings.Join(kept, "\n"), "CALLBACK_TIMING=1") {
		t.Errorf("the README's command keeps %q of go test's output, without the skip's reason:\n%s", kept, out)
	}
}

// TestReadmeNamesToolTests checks that the README's list of what go test
// skips names every test that skips itself without Debian's AWS CLI or
// aws-lambda-rie: a test whose body calls needCLI or findRIE, or names
// /usr/bin/aws (the list named three of the six AWS CLI tests).
func TestReadmeNamesToolTests(t *testing.T) {
	section := readmeSection(t, "### What `go test ./...` skips")
	markers := []string{"needCLI(t)", "findRIE(t)", `"/usr/bin/aws"`}
	fset := token.NewFileSet()
	n := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != "." {
			// Modules of their own (examples/otel, validate/benchcmp) are
			// not run by this module's go test ./...
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil || strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f, err := parser.ParseFile(fset, path, src, 0)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || fn.Body == nil || !strings.HasPrefix(fn.Name.Name, "Test") || fn.Name.Name == "TestReadmeNamesToolTests" {
				continue
			}
			body := string(src[fset.Position(fn.Body.Pos()).Offset:fset.Position(fn.Body.End()).Offset])
			for _, m := range markers {
				if strings.Contains(body, m) {
					n++
					if !strings.Contains(section, "`"+fn.Name.Name+"`") {
						t.Errorf("%s: %s skips without a tool (%s) and the README's list does not name it", path, fn.Name.Name, m)
					}
					break
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 3 {
		t.Errorf("found %d tests that need a tool, want at least the AWS CLI's and the emulator's", n)
	}
}

// syncBuffer is a bytes.Buffer for several writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
