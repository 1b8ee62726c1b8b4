package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
)

// The tests of issue 18 for localserver: what a worker reported, seen from
// outside (item 3), and findings 6 and 9.

// TestCompletionLines checks that the log tells each completion (step,
// outcome, reason, output parameters; quoted, tokens redacted) and that the
// exit summary lists the completed steps before the counts.
func TestCompletionLines(t *testing.T) {
	p := start(t, "-addr", "127.0.0.1:0", "-token", "AbCdE12345,FgHiJ67890,KlMnO13579")
	c := client(p.url)
	if err := fail(t, c, "AbCdE12345", aws.String("disk full\nforged line; see FgHiJ67890")); err != nil {
		t.Fatal(err)
	}
	_, err := c.SendPipelineExecutionStepSuccess(context.Background(), &sagemaker.SendPipelineExecutionStepSuccessInput{
		CallbackToken: aws.String("FgHiJ67890"),
		OutputParameters: []types.OutputParameter{
			{Name: aws.String("accuracy"), Value: aws.String("0.93")},
			{Name: aws.String("note"), Value: aws.String(`said "KlMnO13579" ` + strings.Repeat("v", 1000))},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	p.stop()
	log := p.stderr.String()
	var completions []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, " completed step ") {
			completions = append(completions, l)
		}
	}
	if len(completions) != 2 {
		t.Fatalf("%d completion lines:\n%s", len(completions), log)
	}
	failed := redacted("AbCdE12345") + " execution arn:aws:sagemaker:us-east-1:123456789012:pipeline/callbacktest/execution/"
	if !strings.Contains(completions[0], "completed step "+failed) || !strings.HasSuffix(completions[0], `: Failed, reason "disk full\nforged line; see `+redacted("FgHiJ67890")+`"`) {
		t.Errorf("failure line %q", completions[0])
	}
	// The value is cut at a bound, and a run of letters and digits at the cut
	// is dropped whole.
	if !strings.HasSuffix(completions[1], ": Succeeded, outputs \"accuracy\"=\"0.93\", \"note\"=\"said \\\""+redacted("KlMnO13579")+"\\\" …(1018 bytes in all)\"") {
		t.Errorf("success line %q", completions[1])
	}
	for _, secret := range []string{"AbCdE12345", "FgHiJ67890", "KlMnO13579"} {
		if strings.Contains(log, secret) || strings.Contains(p.rest.String(), secret) {
			t.Errorf("%s shown:\n%s\n%s", secret, log, p.rest.String())
		}
	}
	rest := strings.Split(strings.TrimSuffix(p.rest.String(), "\n"), "\n")
	if len(rest) != 3 || rest[2] != "steps: Executing 1, Failed 1, Succeeded 1" {
		t.Fatalf("exit summary %q", rest)
	}
	if !strings.HasPrefix(rest[0], "completed step "+failed) || !strings.HasSuffix(rest[0], `: Failed, reason "disk full\nforged line; see `+redacted("FgHiJ67890")+`"`) ||
		!strings.Contains(rest[1], ": Succeeded, outputs \"accuracy\"=\"0.93\"") {
		t.Errorf("exit summary %q", rest)
	}
}

// TestLogLinesBounded checks that a request's log line is bounded (issue 18,
// finding 9: a 4 MB FailureReason wrote a 4 MB line, which
// ValidationException's message echoes), and that the bound shows no part of
// a token.
func TestLogLinesBounded(t *testing.T) {
	p := start(t, "-addr", "127.0.0.1:0", "-token", "AbCdE12345")
	c := client(p.url)
	huge := strings.Repeat("x", maxMessage-30) + "AbCdE12345" + strings.Repeat("y", 4<<20)
	if err := fail(t, c, "AbCdE12345", &huge); errorCode(err) != "ValidationException" {
		t.Fatalf("err = %v", err)
	}
	long := strings.Repeat("z", 4<<20)
	if err := fail(t, c, long, nil); errorCode(err) != "ValidationException" {
		t.Fatalf("err = %v", err)
	}
	p.stop()
	for _, l := range strings.Split(p.stderr.String(), "\n") {
		if len(l) > maxLine+64 {
			t.Errorf("a log line of %d bytes: %.200s…", len(l), l)
		}
		if strings.Contains(l, "AbCdE") || strings.Contains(l, "zzzzzzzzzz") {
			t.Errorf("a log line shows (part of) a token: %.300s…", l)
		}
	}
}

// TestRateMustBeFinite checks that -rate NaN and Inf are usage errors, exit
// 2 (issue 18, finding 9: they exited 1, the code of a failed listen).
func TestRateMustBeFinite(t *testing.T) {
	for _, v := range []string{"NaN", "Inf", "+Inf", "-Inf"} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-rate", v}, &out, &errOut); code != exitUsage || !strings.Contains(errOut.String(), "-rate") {
			t.Errorf("-rate %s: exit %d, want %d: %s", v, code, exitUsage, errOut.String())
		}
	}
}

// TestRedactorCostDoesNotGrow checks that redacting a line costs the same
// however many tokens the redactor has seen, and that what it keeps is
// bounded (issue 18, finding 6: it rebuilt a replacer of every token seen
// for each new one, and kept them all).
func TestRedactorCostDoesNotGrow(t *testing.T) {
	fresh := func(i int) string { return fmt.Sprintf("T%09d", i) }
	cost := func(seen int) float64 {
		r := &redactor{}
		for i := range seen {
			r.add(fresh(i))
		}
		i := seen
		return testing.AllocsPerRun(50, func() {
			i++
			tok := fresh(i) // a token never seen: it is added
			r.describe(callbacktest.Request{RequestID: "r", Operation: callbacktest.OpFailure, CallbackToken: tok,
				StatusCode: 400, ErrorCode: "ResourceNotFound", ErrorMessage: "Step " + tok + " not found; " + fresh(0) + " " + fresh(seen-1)})
		})
	}
	few, many := cost(20), cost(30000)
	t.Logf("allocations per line: %v with 20 tokens seen, %v with 30000", few, many)
	if many > few+2 {
		t.Errorf("allocations per line grow with the tokens seen: %v with 20, %v with 30000", few, many)
	}
	r := &redactor{}
	for i := range 3 * maxRecent {
		r.add(fresh(i))
	}
	if len(r.recent) > maxRecent || len(r.order) > maxRecent {
		t.Errorf("the redactor keeps %d tokens, more than %d", len(r.recent), maxRecent)
	}
	line := r.redact("old " + fresh(0) + " new " + fresh(3*maxRecent-1) + "x" + " inside x" + fresh(3*maxRecent-2) + "y")
	if strings.Contains(line, fresh(3*maxRecent-1)) || strings.Contains(line, fresh(3*maxRecent-2)) || !strings.Contains(line, fresh(0)) {
		t.Errorf("redacted %q", line)
	}
	// Registered steps' tokens are redacted however many there are, by
	// looking them up.
	r.registered(func(s string) bool { return s == "AbCdE12345" })
	if got := r.redact("AbCdE12345"); got != redacted("AbCdE12345") {
		t.Errorf("a registered token: %q", got)
	}
}

func TestClip(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"ab cdefgh", 5, "ab …(9 bytes in all)"},
		{"héllo", 2, "h…(6 bytes in all)"}, // é ends the run of ASCII letters
		{"a, é!", 4, "a, …(6 bytes in all)"},
		{strings.Repeat("x", 20), 10, "…(20 bytes in all)"},
	} {
		if got := clip(tc.s, tc.n); got != tc.want {
			t.Errorf("clip(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
}
