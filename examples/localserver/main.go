package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

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

// tokenList is the value of the repeatable -token flag.
type tokenList []string

func (l *tokenList) String() string { return fmt.Sprintf("%d tokens", len(*l)) }

// faults are the faults -fail names.
var faults = map[string]callbacktest.Fault{
	"throttle":    callbacktest.Throttle,
	"internal":    callbacktest.InternalError,
	"unavailable": callbacktest.Unavailable,
	"limit":       callbacktest.LimitExceeded,
	"reset":       callbacktest.ResetBeforeCommit,
	"drop":        callbacktest.DropAfterCommit,
}

// randomFault is one -fail flag.
type randomFault struct {
	p     float64
	fault callbacktest.Fault
}

// faultList is the value of the repeatable -fail flag.
type faultList []randomFault

func (l *faultList) String() string { return fmt.Sprintf("%d faults", len(*l)) }

func (l *faultList) Set(s string) error {
	name, ps, ok := strings.Cut(s, ":")
	f, known := faults[name]
	if !ok || !known {
		return fmt.Errorf("want NAME:P with NAME one of throttle, internal, unavailable, limit, reset, drop")
	}
	p, err := strconv.ParseFloat(ps, 64)
	if err != nil || p < 0 || p > 1 {
		return fmt.Errorf("probability %q is not a number within [0, 1]", ps)
	}
	*l = append(*l, randomFault{p, f})
	return nil
}

func (l *tokenList) Set(s string) error {
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			*l = append(*l, t)
		}
	}
	return nil
}

// run serves until ctx is done and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("localserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "loopback `host:port` to listen on (port 0 picks a free one)")
	var tokens tokenList
	fs.Var(&tokens, "token", "callback `token` to register (10 letters and digits); repeat or separate with commas; default: one new token")
	var fails faultList
	fs.Var(&fails, "fail", "make requests meet a fault with a probability, as `NAME:P` (throttle, internal, unavailable, limit, reset, drop); repeatable")
	seed := fs.Int64("seed", 1, "`seed` of the faults' random draws")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "localserver: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if err := checkLoopback(*addr); err != nil {
		fmt.Fprintf(stderr, "localserver: -addr: %v\n", err)
		return exitUsage
	}
	seen := make(map[callback.Token]bool)
	for i, raw := range tokens {
		tok, err := callback.ParseToken(raw)
		if err != nil {
			fmt.Fprintf(stderr, "localserver: -token #%d: %v\n", i+1, err)
			return exitUsage
		}
		if seen[tok] {
			fmt.Fprintf(stderr, "localserver: -token #%d: %v given twice\n", i+1, tok)
			return exitUsage
		}
		seen[tok] = true
	}

	logger := log.New(stderr, "", log.LstdFlags|log.Lmicroseconds)
	srv, err := newServer(*addr, *seed, func(r callbacktest.Request) { logger.Print(describe(r)) })
	if err != nil {
		fmt.Fprintf(stderr, "localserver: %v\n", err)
		return exitListen
	}
	defer srv.Close()
	for _, f := range fails {
		srv.FailRandom(f.p, f.fault)
	}

	fmt.Fprintf(stdout, "listening on %s\n", srv.URL())
	for _, raw := range tokens {
		arn := srv.AddStep(raw)
		fmt.Fprintf(stdout, "step %v execution %s\n", callback.MustParseToken(raw), arn)
	}
	if len(tokens) == 0 {
		raw, arn := srv.NewStep()
		fmt.Fprintf(stdout, "step %s execution %s\n", raw, arn)
	}
	fmt.Fprintln(stdout, "stop with Ctrl-C")

	<-ctx.Done()
	logger.Print("stopping")
	srv.Close()
	logger.Print("stopped")
	return exitOK
}

// newServer starts the fake, turning its panic on a failed listen into an
// error.
func newServer(addr string, seed int64, onRequest func(callbacktest.Request)) (srv *callbacktest.Server, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%v", v)
		}
	}()
	return callbacktest.NewServer(func(o *callbacktest.Options) {
		o.Addr = addr
		o.Seed = seed
		o.OnRequest = onRequest
	}), nil
}

// checkLoopback reports an error when addr's host is not a loopback address.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%q is not a loopback address (127.0.0.1, [::1] or localhost)", addr)
}

// describe returns a log line for a request, with its callback token redacted
// wherever it appears.
func describe(r callbacktest.Request) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", r.RequestID, orDash(r.Operation))
	shown := "-"
	if r.CallbackToken != "" {
		if tok, err := callback.ParseToken(r.CallbackToken); err == nil {
			shown = tok.String()
		} else {
			shown = "(invalid token)"
		}
	}
	fmt.Fprintf(&b, " token=%s", shown)
	if r.Attempt > 0 {
		fmt.Fprintf(&b, " attempt=%d/%d", r.Attempt, r.MaxAttempts)
	}
	if r.Fault != (callbacktest.Fault{}) {
		fmt.Fprintf(&b, " fault=%v", r.Fault)
	}
	switch {
	case r.StatusCode == 0:
		b.WriteString(" -> no answer (connection closed)")
	case r.ErrorCode == "":
		fmt.Fprintf(&b, " -> %d %s", r.StatusCode, r.ExecutionARN)
		if r.Replayed {
			b.WriteString(" (replayed)")
		}
	default:
		msg := r.ErrorMessage
		if r.CallbackToken != "" {
			// AWS echoes values in quotes: replace the quoted token only, so
			// that a short invalid token does not mangle the rest.
			msg = strings.ReplaceAll(msg, "'"+r.CallbackToken+"'", "'"+shown+"'")
		}
		fmt.Fprintf(&b, " -> %d %s: %s", r.StatusCode, r.ErrorCode, msg)
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
