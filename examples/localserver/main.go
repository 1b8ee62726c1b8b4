package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"os"
	"os/signal"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/stepcallback/sagemaker-callback/callback"
	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
)

// Exit codes.
const (
	exitOK     = 0
	exitListen = 1
	exitUsage  = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// faults are the faults the NAMEs of -fail and -fail-next stand for.
var faults = map[string]callbacktest.Fault{
	"throttle":    callbacktest.Throttle,
	"internal":    callbacktest.InternalError,
	"unavailable": callbacktest.Unavailable,
	"limit":       callbacktest.LimitExceeded,
	"reset":       callbacktest.ResetBeforeCommit,
	"drop":        callbacktest.DropAfterCommit,
}

// operations are the operations a fault may be aimed at.
var operations = []string{
	callbacktest.OpFailure, callbacktest.OpSuccess,
	callbacktest.OpReceiveMessage, callbacktest.OpDeleteMessage, callbacktest.OpChangeMessageVisibility,
	callbacktest.OpSendMessage, callbacktest.OpGetQueueURL,
	"CreatePipeline", "DescribePipeline", "DeletePipeline", "StartPipelineExecution", "DescribePipelineExecution",
	"ListPipelineExecutions", "ListPipelineExecutionSteps", "StopPipelineExecution",
	"SendMessageBatch", "DeleteMessageBatch", "ChangeMessageVisibilityBatch", "GetQueueAttributes",
	"SetQueueAttributes", "CreateQueue", "DeleteQueue", "ListQueues", "PurgeQueue",
}

// faultFlag is one -fail or -fail-next flag: a fault and its probability or
// count.
type faultFlag struct {
	fault callbacktest.Fault
	p     float64 // -fail
	n     int     // -fail-next
}

// faultList is the value of the repeatable -fail (next false) or -fail-next
// (next true) flag, NAME[@OPERATION]:P or NAME[@OPERATION]:N.
type faultList struct {
	next  bool
	flags []faultFlag
}

func (l *faultList) String() string { return fmt.Sprintf("%d faults", len(l.flags)) }

func (l *faultList) Set(s string) error {
	spec, arg, ok := strings.Cut(s, ":")
	name, op, aimed := strings.Cut(spec, "@")
	f, known := faults[name]
	if d, isDelay := strings.CutPrefix(name, "delay="); isDelay {
		dur, err := time.ParseDuration(d)
		if err != nil || dur < 0 {
			return fmt.Errorf("delay %q is not a duration such as 2s", d)
		}
		f, known = callbacktest.Delay(dur), true
	}
	if !ok || !known {
		return fmt.Errorf("want NAME[@OPERATION]:%s with NAME one of throttle, internal, unavailable, limit, reset, drop, delay=DURATION", l.argName())
	}
	if aimed {
		if !slices.Contains(operations, op) {
			return fmt.Errorf("operation %q is not one of %s", op, strings.Join(operations, ", "))
		}
		f = f.ForOperation(op)
	}
	ff := faultFlag{fault: f}
	if l.next {
		n, err := strconv.Atoi(arg)
		if err != nil || n < 1 {
			return fmt.Errorf("count %q is not a whole number of at least 1", arg)
		}
		ff.n = n
	} else {
		p, err := strconv.ParseFloat(arg, 64)
		if err != nil || !(p >= 0 && p <= 1) {
			return fmt.Errorf("probability %q is not a number within [0, 1]", arg)
		}
		ff.p = p
	}
	l.flags = append(l.flags, ff)
	return nil
}

func (l *faultList) argName() string {
	if l.next {
		return "N"
	}
	return "P"
}

// tokenList is the value of the repeatable -token flag.
type tokenList []string

func (l *tokenList) String() string { return fmt.Sprintf("%d tokens", len(*l)) }

func (l *tokenList) Set(s string) error {
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			*l = append(*l, t)
		}
	}
	return nil
}

// stopFlag is one -stop flag: stop n started steps after d.
type stopFlag struct {
	n int
	d time.Duration
}

// stopList is the value of the repeatable -stop flag, N:DURATION.
type stopList []stopFlag

func (l *stopList) String() string { return fmt.Sprintf("%d stops", len(*l)) }

func (l *stopList) Set(s string) error {
	ns, ds, _ := strings.Cut(s, ":")
	n, err := strconv.Atoi(ns)
	d, err2 := time.ParseDuration(ds)
	if err != nil || err2 != nil || n < 1 || d < 0 {
		return fmt.Errorf("want N:DURATION, as 2:500ms")
	}
	*l = append(*l, stopFlag{n, d})
	return nil
}

var (
	regionRE  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	accountRE = regexp.MustCompile(`^[0-9]{12}$`)
)

// config is the parsed command line.
type config struct {
	opts   callbacktest.Options
	tokens tokenList
	start  int
	args   map[string]any
	stops  stopList
	fails  faultList
	nexts  faultList
}

// parse parses the command line. It returns nil when run must not serve:
// with help true for -h, otherwise after reporting the problem on stderr.
func parse(args []string, stderr io.Writer) (c *config, help bool) {
	c = &config{nexts: faultList{next: true}}
	fs := flag.NewFlagSet("localserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: localserver [flags]\n\nA local SageMaker (callback steps) and SQS queue for any client: see go doc ./examples/localserver.\n\nFlags:\n")
		fs.PrintDefaults()
		fmt.Fprint(stderr, "\nExample: localserver -start 3 -stop 1:10s -fail-next throttle@DeleteMessage:1 -fail-next delay=1h@ReceiveMessage:1\n")
	}
	fs.StringVar(&c.opts.Addr, "addr", "127.0.0.1:8080", "loopback `host:port` to listen on (port 0 picks a free one)")
	fs.StringVar(&c.opts.Region, "region", "us-east-1", "the server's `region`: in every ARN; requests signed for another region are refused")
	fs.StringVar(&c.opts.AccountID, "account", "123456789012", "the server's 12-digit `account` ID: in every ARN and the queue's URL")
	fs.Var(&c.tokens, "token", "callback `token` to register (10 letters and digits), with no message; repeat or separate with commas")
	fs.IntVar(&c.start, "start", 0, "start `N` callback steps as a pipeline does: each registered with a new token and its message put on the queue")
	argsJSON := fs.String("args", "{}", "the arguments of the started steps' messages, a JSON `object`")
	fs.Var(&c.stops, "stop", "after DURATION, stop N of the started steps still waiting, as StopPipelineExecution (a Stopping message on the queue), as `N:DURATION`; repeatable")
	fs.Var(&c.fails, "fail", "make requests meet a fault with a probability, as `NAME[@OPERATION]:P`; NAME is throttle, internal, unavailable, limit, reset, drop or delay=DURATION; without @OPERATION, SageMaker's requests only; repeatable")
	fs.Var(&c.nexts, "fail-next", "make the next N requests meet a fault, as `NAME[@OPERATION]:N` (NAME as for -fail); repeatable, served in order")
	fs.Float64Var(&c.opts.RateLimit, "rate", 0, "SageMaker `requests` a second accepted, beyond which ThrottlingException (0: no limit)")
	fs.Int64Var(&c.opts.Seed, "seed", 1, "`seed` of the faults' random draws")
	fs.IntVar(&c.opts.MaxRecords, "max-records", 10000, "keep only the latest `N` request records and deleted messages in memory (0: keep all)")
	fs.DurationVar(&c.opts.ReadTimeout, "read-timeout", 30*time.Second, "cut a client that takes longer than `DURATION` to send a request's header and body")
	if err := fs.Parse(args); err != nil {
		return nil, errors.Is(err, flag.ErrHelp)
	}
	problem := ""
	switch {
	case fs.NArg() > 0:
		problem = fmt.Sprintf("unexpected argument %q", fs.Arg(0))
	case callbacktest.CheckLoopback(c.opts.Addr) != nil:
		problem = "-addr: " + callbacktest.CheckLoopback(c.opts.Addr).Error()
	case !regionRE.MatchString(c.opts.Region):
		problem = fmt.Sprintf("-region %q is not a region name such as eu-west-1", c.opts.Region)
	case !accountRE.MatchString(c.opts.AccountID):
		problem = fmt.Sprintf("-account %q is not 12 digits", c.opts.AccountID)
	case c.start < 0 || c.start > 100000:
		problem = "-start must be within [0, 100000]"
	case json.Unmarshal([]byte(*argsJSON), &c.args) != nil || c.args == nil:
		problem = "-args is not a JSON object"
	case c.opts.RateLimit < 0 || math.IsNaN(c.opts.RateLimit) || math.IsInf(c.opts.RateLimit, 0):
		problem = fmt.Sprintf("-rate %v is not a finite number of requests a second, at least 0", c.opts.RateLimit)
	case c.opts.MaxRecords < 0:
		problem = fmt.Sprintf("-max-records %d must not be negative", c.opts.MaxRecords)
	case c.opts.ReadTimeout <= 0:
		problem = fmt.Sprintf("-read-timeout %v must be positive", c.opts.ReadTimeout)
	}
	seen := make(map[callback.Token]bool)
	for i, raw := range c.tokens {
		tok, err := callback.ParseToken(raw)
		if problem == "" && err != nil {
			problem = fmt.Sprintf("-token #%d: %v", i+1, err)
		} else if problem == "" && seen[tok] {
			problem = fmt.Sprintf("-token #%d: %v given twice", i+1, tok)
		}
		seen[tok] = true
	}
	if problem != "" {
		fmt.Fprintln(stderr, "localserver: "+problem)
		return nil, false
	}
	return c, false
}

// onServer, when set by a test, is given the server that run starts.
var onServer func(*callbacktest.Server)

// run serves until ctx is done and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, help := parse(args, stderr)
	switch {
	case help:
		return exitOK
	case c == nil:
		return exitUsage
	}
	logger := log.New(stderr, "", log.LstdFlags|log.Lmicroseconds)
	r := &redactor{}
	c.opts.OnRequest = func(req callbacktest.Request) {
		logger.Print(r.describe(req))
		if req.Completed {
			logger.Print(r.completion(req.CallbackToken, req.ExecutionARN, outcome(req.Operation), req.FailureReason, req.OutputParameters))
		}
	}
	srv, err := newServer(c.opts)
	if err != nil {
		fmt.Fprintf(stderr, "localserver: %v\n", err)
		return exitListen
	}
	defer srv.Close()
	// Every step's token is redacted by looking it up: the steps made below
	// need no r.add.
	r.registered(func(token string) bool { _, ok := srv.Step(token); return ok })
	if onServer != nil {
		onServer(srv)
	}
	for _, f := range c.nexts.flags {
		srv.FailNext(f.n, f.fault)
	}
	for _, f := range c.fails.flags {
		srv.FailRandom(f.p, f.fault)
	}

	fmt.Fprintf(stdout, "listening on %s\n", srv.URL())
	fmt.Fprintf(stdout, "queue %s\n", srv.QueueURL())
	for _, raw := range c.tokens {
		fmt.Fprintf(stdout, "step %v execution %s\n", callback.MustParseToken(raw), srv.AddStep(raw))
	}
	var started []string // execution ARNs
	for range c.start {
		raw, arn := srv.StartStep(c.args)
		started = append(started, arn)
		fmt.Fprintf(stdout, "step %s execution %s (message on the queue)\n", raw, arn)
	}
	if len(c.tokens) == 0 && c.start == 0 {
		raw, arn := srv.NewStep()
		fmt.Fprintf(stdout, "step %s execution %s\n", raw, arn)
	}
	fmt.Fprintln(stdout, "stop with Ctrl-C")

	var wg sync.WaitGroup
	var stopMu sync.Mutex
	stopped := make(map[string]bool) // executions already stopped: a later -stop picks others
	for _, st := range c.stops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTimer(st.d)
			defer t.Stop()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			stopMu.Lock()
			defer stopMu.Unlock()
			n := 0
			for _, arn := range started {
				if n < st.n && !stopped[arn] && srv.StopExecution(arn) {
					stopped[arn] = true
					n++
					logger.Printf("stopping execution %s", arn)
				}
			}
		}()
	}

	<-ctx.Done()
	wg.Wait()
	logger.Print("stopping")
	srv.Close()
	logger.Print("stopped")
	count := make(map[string]int)
	for _, st := range srv.Steps() {
		count[st.Status]++
		if st.Status != callbacktest.StatusExecuting {
			var reason *string // none, or none sent
			if st.FailureReason != "" {
				reason = &st.FailureReason
			}
			fmt.Fprintln(stdout, r.completion(st.Token, st.ExecutionARN, st.Status, reason, st.Outputs))
		}
	}
	fmt.Fprintln(stdout, summary(count))
	return exitOK
}

// summary returns the line that counts the steps by status, as
// "steps: Executing 1, Failed 0, Succeeded 2".
func summary(count map[string]int) string {
	statuses := []string{callbacktest.StatusExecuting, callbacktest.StatusFailed, callbacktest.StatusSucceeded}
	parts := make([]string, len(statuses))
	for i, s := range statuses {
		parts[i] = fmt.Sprintf("%s %d", s, count[s])
	}
	return "steps: " + strings.Join(parts, ", ")
}

// newServer starts the fake, turning its panic on a failed listen into an
// error.
func newServer(o callbacktest.Options) (srv *callbacktest.Server, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%v", v)
		}
	}()
	return callbacktest.NewServer(func(opts *callbacktest.Options) { *opts = o }), nil
}

// outcome returns the status a completion request of op gives its step.
func outcome(op string) string {
	if op == callbacktest.OpSuccess {
		return callbacktest.StatusSucceeded
	}
	return callbacktest.StatusFailed
}

// Bounds of the log lines.
const (
	maxLine    = 4096 // bytes of a whole line
	maxMessage = 1024 // bytes of an error message, before redaction
	maxValue   = 256  // bytes of a FailureReason or an output parameter's value
	maxRecent  = 10000
)

// redactor writes the log lines of requests with every callback token of a
// registered step, the token a request carries, and any valid token one of
// the latest maxRecent requests carried, replaced by its redacted form
// wherever it appears in the line. Its cost per line grows with the line's
// length, not with the tokens seen: it looks each 10-character run of
// letters and digits up, and keeps no more than maxRecent tokens of its own.
type redactor struct {
	isStep atomic.Pointer[func(string) bool] // whether a token is a registered step's

	mu     sync.Mutex
	recent map[string]bool // valid tokens requests carried, the latest maxRecent
	order  []string        // the keys of recent, as a ring
	next   int             // the ring's oldest entry, once full
}

// registered makes r redact the tokens for which isStep reports true.
func (r *redactor) registered(isStep func(string) bool) { r.isStep.Store(&isStep) }

// add makes r redact token wherever it appears, until maxRecent tokens were
// added since.
func (r *redactor) add(token string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.recent[token] {
		return
	}
	if r.recent == nil {
		r.recent = make(map[string]bool)
	}
	if len(r.order) < maxRecent {
		r.order = append(r.order, token)
	} else {
		delete(r.recent, r.order[r.next])
		r.order[r.next] = token
		r.next = (r.next + 1) % maxRecent
	}
	r.recent[token] = true
}

// known reports whether a 10-character run is a token to redact.
func (r *redactor) known(w string) bool {
	r.mu.Lock()
	ok := r.recent[w]
	r.mu.Unlock()
	if f := r.isStep.Load(); !ok && f != nil {
		ok = (*f)(w)
	}
	return ok
}

// tokenLen is the length of a callback token.
const tokenLen = 10

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// redact replaces every known token in line, inside longer runs of letters
// and digits too.
func (r *redactor) redact(line string) string {
	var b strings.Builder
	last := 0 // line[:last] is written to b
	run := 0  // letters and digits ending at i
	for i := 0; i < len(line); i++ {
		if !isAlnum(line[i]) {
			run = 0
			continue
		}
		if run++; run < tokenLen {
			continue
		}
		start := i + 1 - tokenLen
		if start < last || !r.known(line[start:i+1]) {
			continue
		}
		b.WriteString(line[last:start])
		b.WriteString(redacted(line[start : i+1]))
		last = i + 1
	}
	if last == 0 {
		return line
	}
	b.WriteString(line[last:])
	return b.String()
}

// clip returns s cut to at most n bytes, on a character boundary, followed by
// how long it was. A cut inside a run of letters and digits drops the run's
// part before it, so that no part of a token shows.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	for cut > 0 && isAlnum(s[cut]) && isAlnum(s[cut-1]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("…(%d bytes in all)", len(s))
}

// minRedacted is the shortest requested value redacted wherever it appears:
// a shorter one (an invalid token such as "a") is redacted only where quoted,
// so as not to mangle the rest of the line.
const minRedacted = 4

// own redacts the token a request carries in s.
func own(s, t string) string {
	if len(t) >= minRedacted {
		return strings.ReplaceAll(s, t, redacted(t))
	}
	if t != "" {
		s = strings.ReplaceAll(s, "'"+t+"'", "'"+redacted(t)+"'")
		s = strings.ReplaceAll(s, "token="+t, "token="+redacted(t))
	}
	return s
}

// describe returns the log line of a request.
func (r *redactor) describe(req callbacktest.Request) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", req.RequestID, clip(cmp.Or(req.Operation, req.Target, "-"), 128))
	if req.CallbackToken != "" {
		fmt.Fprintf(&b, " token=%s", clip(req.CallbackToken, 128))
	}
	if len(req.MessageIDs) > 0 {
		fmt.Fprintf(&b, " messages=%s", strings.Join(req.MessageIDs, ","))
	}
	if req.Attempt > 0 {
		fmt.Fprintf(&b, " attempt=%d/%d", req.Attempt, req.MaxAttempts)
	}
	if req.Fault != (callbacktest.Fault{}) {
		fmt.Fprintf(&b, " fault=%v", req.Fault)
	}
	switch {
	case req.StatusCode == 0:
		b.WriteString(" -> no answer (connection closed)")
	case req.ErrorCode == "":
		fmt.Fprintf(&b, " -> %d %s", req.StatusCode, req.ExecutionARN)
		if req.Replayed {
			b.WriteString(" (replayed)")
		}
	default:
		// The request's own token first, in the whole message (a token
		// longer than the bound included), then the bound.
		fmt.Fprintf(&b, " -> %d %s: %s", req.StatusCode, req.ErrorCode, clip(own(req.ErrorMessage, req.CallbackToken), maxMessage))
	}
	line := strings.TrimSpace(b.String())

	if _, err := callback.ParseToken(req.CallbackToken); err == nil {
		r.add(req.CallbackToken) // a later request may quote it, in a FailureReason say
	}
	return clip(printable(r.redact(own(line, req.CallbackToken))), maxLine)
}

// completion returns the line that tells a step's completion: its token
// (redacted), its execution, its outcome (status), and its FailureReason or
// output parameters, each quoted and bounded.
func (r *redactor) completion(token, executionARN, status string, reason *string, outputs []callbacktest.Output) string {
	var b strings.Builder
	fmt.Fprintf(&b, "completed step %s execution %s: %s", token, executionARN, status)
	if reason != nil {
		fmt.Fprintf(&b, ", reason %s", strconv.Quote(clip(own(*reason, token), maxValue)))
	}
	if len(outputs) > 0 {
		b.WriteString(", outputs")
		for i, o := range outputs {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, " %s=%s", strconv.Quote(clip(own(o.Name, token), maxValue)), strconv.Quote(clip(own(o.Value, token), maxValue)))
		}
	}
	return clip(printable(r.redact(own(b.String(), token))), maxLine)
}

// printable returns s with each character that is not printable (a line
// break, an escape, U+2028, a byte of invalid UTF-8) written as Go escapes it
// ("\n", "\x1b", "\u2028", "\xff"), so that a value a client sent, echoed
// in an error message, stays on its line: it can neither forge a line of the
// log (a "completed step" line say) nor drive a terminal.
func printable(s string) string {
	ok := func(c rune) bool { return c != utf8.RuneError && unicode.IsPrint(c) }
	if !strings.ContainsFunc(s, func(c rune) bool { return !ok(c) }) {
		return s
	}
	var b strings.Builder
	for len(s) > 0 {
		c, n := utf8.DecodeRuneInString(s)
		switch {
		case ok(c):
			b.WriteString(s[:n])
		case c == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[0])
		default:
			q := strconv.QuoteRune(c) // '\n', '\x1b', '\u2028'
			b.WriteString(q[1 : len(q)-1])
		}
		s = s[n:]
	}
	return b.String()
}

// redacted returns what the log shows for a token: its callback.Token form,
// or "(invalid token)".
func redacted(raw string) string {
	if tok, err := callback.ParseToken(raw); err == nil {
		return tok.String()
	}
	return "(invalid token)"
}
