package callbacktest

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeListsEveryOperation checks that the README's section on what the
// fake serves names every operation it serves, of either service. (The
// SageMaker table named only the two completion calls after the pipeline
// calls came.)
func TestReadmeListsEveryOperation(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## What the fake serves\n")
	if !ok {
		t.Fatal("README.md has no section \"What the fake serves\"")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	sageMaker, sqs, _ := strings.Cut(section, "\nSQS ")
	for _, tc := range []struct {
		table string
		ops   []string
	}{{sageMaker, sageMakerOps}, {sqs, sqsOps}} {
		for _, op := range tc.ops {
			if !strings.Contains(tc.table, "`"+op+"`") {
				t.Errorf("the README's table does not list %s", op)
			}
		}
	}
}
