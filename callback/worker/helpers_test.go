package worker_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/stepcallback/sagemaker-callback/callback"
	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
	"github.com/stepcallback/sagemaker-callback/callback/worker"
	"github.com/stepcallback/sagemaker-callback/retry"
)

// TestMain fails the package's tests when a goroutine outlives them: a
// Worker's Run and a Server's Close must leave nothing behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// second is the real length of one SQS second in the tests' fake queue.
const second = 10 * time.Millisecond

// env is a fake SageMaker and SQS queue, a callback client for it, and a log
// that tests search for leaked tokens.
type env struct {
	t   *testing.T
	srv *callbacktest.Server
	cb  *callback.Client
	log *syncBuffer
}

func newEnv(t *testing.T, optFns ...func(*callbacktest.Options)) *env {
	t.Helper()
	srv := callbacktest.NewServer(append([]func(*callbacktest.Options){
		func(o *callbacktest.Options) { o.Queue.Second = second },
	}, optFns...)...)
	e := &env{t: t, srv: srv, log: &syncBuffer{}}
	e.cb = callback.New(srv.Client(), func(o *callback.Options) {
		o.Retry = retry.Policy{MaxAttempts: 2, InitialInterval: time.Millisecond, MaxInterval: time.Millisecond}
	})
	t.Cleanup(func() {
		srv.Close()
		e.checkNoTokenLogged()
	})
	return e
}

// logger returns a logger writing to the env's log, tagged with a name.
func (e *env) logger(name string) *slog.Logger {
	return slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug})).With("worker", name)
}

// checkNoTokenLogged fails the test when a raw token of a registered step
// shows in the log.
func (e *env) checkNoTokenLogged() {
	e.t.Helper()
	logged := e.log.String()
	for _, st := range e.srv.Steps() {
		if strings.Contains(logged, st.Token) {
			e.t.Errorf("the raw token of a step was logged")
			return
		}
	}
}

// fastOptions are a Worker's options scaled to the fake's 10ms seconds:
// visibility 6 SQS seconds (60ms), extended every 15ms.
func (e *env) fastOptions(name string) func(*worker.Options) {
	return func(o *worker.Options) {
		o.QueueURL = e.srv.QueueURL()
		o.VisibilityTimeout = 6 * time.Second
		o.Heartbeat = 15 * time.Millisecond
		o.WaitTime = 20 * time.Second // 200ms in the fake; cut short by sends and by Run's end
		o.ShutdownTimeout = 5 * time.Second
		o.Logger = e.logger(name)
	}
}

// running is a Worker's Run in progress.
type running struct {
	t      *testing.T
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

// start runs w until stop is called or the test ends.
func start(t *testing.T, w *worker.Worker) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{t: t, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- w.Run(ctx) }()
	t.Cleanup(func() { r.stop() })
	return r
}

// stop ends the Run and waits for it, and returns its error.
func (r *running) stop() error {
	r.once.Do(func() {
		r.cancel()
		select {
		case r.err = <-r.done:
		case <-time.After(30 * time.Second):
			r.t.Fatal("Run did not return within 30s of its context's end")
		}
	})
	return r.err
}

// waitFor waits until cond holds, or fails the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// allCompleted reports whether every registered step is completed.
func (e *env) allCompleted() bool {
	for _, st := range e.srv.Steps() {
		if st.Status == callbacktest.StatusExecuting {
			return false
		}
	}
	return true
}

// queueDrained reports whether every message sent was deleted (or moved
// aside).
func (e *env) queueDrained() bool {
	st := e.srv.QueueStats()
	return st.Visible+st.InFlight+st.Delayed == 0
}

// checkExactlyOnce checks that every step was completed exactly once, with
// the status want.
func (e *env) checkExactlyOnce(want string) {
	e.t.Helper()
	for _, st := range e.srv.Steps() {
		if st.Status != want || st.Completions != 1 {
			e.t.Errorf("step %s…: status %s, %d completions; want %s, 1", st.Token[:2], st.Status, st.Completions, want)
		}
	}
}

// results collects the Results a Worker gives.
type results struct {
	mu  sync.Mutex
	all []worker.Result
}

func (r *results) add(res worker.Result) {
	r.mu.Lock()
	r.all = append(r.all, res)
	r.mu.Unlock()
}

func (r *results) list() []worker.Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]worker.Result(nil), r.all...)
}

func (r *results) count(o worker.Outcome) int {
	n := 0
	for _, res := range r.list() {
		if res.Outcome == o {
			n++
		}
	}
	return n
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
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

// counter counts calls by key.
type counter struct {
	mu sync.Mutex
	m  map[string]int
}

func (c *counter) inc(k string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]int)
	}
	c.m[k]++
	return c.m[k]
}

func (c *counter) get(k string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[k]
}

func (c *counter) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.m {
		n += v
	}
	return n
}
