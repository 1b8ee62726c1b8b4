package sagemakercallback_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// goBlock finds the Go code blocks of a Markdown file.
var goBlock = regexp.MustCompile("(?s)```go\n(.*?)```")

// TestReadmeCompiles type-checks every Go code block of README.md as a file
// of its own package inside this module (through a build overlay, so nothing
// is written into the tree): the README cannot drift from the API.
func TestReadmeCompiles(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command; skipped under -short")
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := goBlock.FindAllStringSubmatch(string(readme), -1)
	if len(blocks) < 2 {
		t.Fatalf("found %d Go blocks in README.md, want the usage and the test examples", len(blocks))
	}
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	overlay := map[string]map[string]string{"Replace": {}}
	var pkgs []string
	for i, b := range blocks {
		code := b[1]
		if !strings.HasPrefix(code, "package ") {
			t.Errorf("README block %d is not a whole file (starts %q): make it one so it can be checked", i, firstLine(code))
			continue
		}
		name := "main.go"
		if strings.Contains(code, "*testing.T") {
			name = "snippet_test.go"
		}
		src := filepath.Join(tmp, strconv.Itoa(i)+".go")
		if err := os.WriteFile(src, []byte(code), 0o644); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(root, "internal", "readmecheck", "block"+strconv.Itoa(i))
		overlay["Replace"][filepath.Join(dir, name)] = src
		pkgs = append(pkgs, dir)
	}
	ov := filepath.Join(tmp, "overlay.json")
	data, _ := json.Marshal(overlay)
	if err := os.WriteFile(ov, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for i, dir := range pkgs {
		// go vet would chdir into the package's directory, which exists only
		// in the overlay; go build and go test -c compile it without that.
		args := []string{"build", "-overlay", ov, "-o", os.DevNull, dir}
		if _, ok := overlay["Replace"][filepath.Join(dir, "snippet_test.go")]; ok {
			args = []string{"test", "-c", "-vet=off", "-overlay", ov, "-o", filepath.Join(tmp, "snippet"+strconv.Itoa(i)+".test"), dir}
		}
		cmd := exec.Command("go", args...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("README's Go block %d does not compile:\n%s", i, out)
		}
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// TestReadmeCLICommands checks that the AWS CLI commands of the README's
// local-server section stand, line for line, in examples/localserver's
// documentation, whose block TestDocCommands runs with the AWS CLI: the
// README's copy cannot drift from the commands that are tested.
func TestReadmeCLICommands(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join("examples", "localserver", "doc.go"))
	if err != nil {
		t.Fatal(err)
	}
	section := string(readme)
	start := strings.Index(section, "## The local server from the command line")
	if start < 0 {
		t.Fatal("README.md has no section on the local server from the command line")
	}
	block := regexp.MustCompile("(?s)```sh\n(.*?)```").FindStringSubmatch(section[start:])
	if block == nil {
		t.Fatal("the local server's section has no sh block")
	}
	docLines := map[string]bool{}
	for _, l := range strings.Split(string(doc), "\n") {
		docLines[strings.TrimSpace(strings.TrimPrefix(l, "//"))] = true
	}
	n := 0
	for _, l := range strings.Split(block[1], "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "go run ") {
			continue // the server's own command line differs in its comment
		}
		n++
		if !docLines[l] {
			t.Errorf("README line %q is not in examples/localserver/doc.go", l)
		}
	}
	if n < 5 {
		t.Errorf("only %d command lines checked", n)
	}
}
