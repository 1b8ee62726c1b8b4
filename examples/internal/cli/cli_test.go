package cli_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stepcallback/sagemaker-callback/callback"
	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
	"github.com/stepcallback/sagemaker-callback/examples/internal/cli"
)

// TestReport: Report names the class and gives its hint from callback's one
// table, and its exit code says whether anything was sent.
func TestReport(t *testing.T) {
	srv := callbacktest.NewServer()
	defer srv.Close()
	client := callback.New(srv.Client())
	ctx := context.Background()
	_, notFound := client.Fail(ctx, callback.MustParseToken("NoSuchStep"), callback.Reason{})
	_, invalid := client.Fail(ctx, callback.Token{}, callback.Reason{})
	canceledCtx, cancel := context.WithCancel(ctx)
	cancel()
	raw, _ := srv.NewStep()
	_, canceled := client.Fail(canceledCtx, callback.MustParseToken(raw), callback.Reason{})
	for _, c := range []struct {
		name  string
		err   error
		class error
		code  int
		sent  bool
	}{
		{"not found", notFound, callback.ErrNotFound, cli.ExitFailed, true},
		{"invalid", invalid, callback.ErrInvalid, cli.ExitUsage, false},
		// Canceled before sending: the class's hint ("may or may not be
		// recorded") is not printed over the Error's ("nothing was
		// recorded").
		{"canceled before sending", canceled, context.Canceled, cli.ExitUsage, false},
		{"deadline", context.DeadlineExceeded, context.DeadlineExceeded, cli.ExitFailed, true},
	} {
		var buf bytes.Buffer
		code := cli.Report(&buf, c.err)
		class, ok := callback.ClassOf(c.err)
		if !ok || class.Err != c.class {
			t.Fatalf("%s: ClassOf = %v, %v", c.name, class.Err, ok)
		}
		out := buf.String()
		first := "error: " + c.class.Error() + ": " + class.Hint + "\n" // the class and its hint
		if !c.sent {
			first = "error: " + c.class.Error() + "\n" // the Error's message carries the hint
		}
		if code != c.code || !strings.HasPrefix(out, first) || strings.Contains(out, "nothing was sent") == c.sent ||
			!c.sent && strings.Contains(out, "may or may not be recorded") {
			t.Errorf("%s: code %d, output:\n%s", c.name, code, out)
		}
	}
	var buf bytes.Buffer
	if code := cli.Report(&buf, errors.New("odd")); code != cli.ExitFailed || buf.String() != "error: odd\n" {
		t.Errorf("an error of no class: code %d, output %q", code, buf.String())
	}
}
