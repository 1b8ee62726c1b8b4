package worker_test

import (
	"os"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/stepcallback/sagemaker-callback/callback"
	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
)

// cpuTime returns the CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// TestWorkerOverhead measures what the Worker adds to a hand-written loop
// that makes the same kinds of calls (runDirect with batches of 10: receive,
// parse, Succeed, delete), in ABBA rounds of 1,000 steps on a fresh server
// each, by wall time and by the process's CPU time. The Worker makes about
// 2.5 times the direct loop's ReceiveMessage calls (0.25 against 0.1 a
// step), since it never receives more messages than it has free slots; the
// log line gives the time per call as well, which discounts that.
//
// The limit is loose (×1.5) so that a busy machine does not fail the test;
// WORKER_STRICT_OVERHEAD=1 sets it to ×1.10.
func TestWorkerOverhead(t *testing.T) {
	if testing.Short() {
		t.Skip("a measurement; skipped under -short")
	}
	if raceEnabled {
		t.Skip("the race detector distorts timings")
	}
	const rounds = 16
	type sample struct {
		wall, cpu time.Duration
		calls     int // SQS and SageMaker calls
	}
	measure := func(worker bool) sample {
		srv := callbacktest.NewServer()
		defer srv.Close()
		for range loadSteps {
			srv.StartStep(nil)
		}
		cb := callback.New(srv.Client())
		runtime.GC()
		c0, t0 := cpuTime(), time.Now()
		if worker {
			runWorker(t, srv, cb, trivial, loadSteps)
		} else {
			runDirect(t, srv, cb, loadSteps, 10)
		}
		s := sample{wall: time.Since(t0), cpu: cpuTime() - c0}
		qs := srv.QueueStats()
		s.calls = qs.ReceiveCalls + qs.DeleteCalls + qs.VisibilityChanges + len(srv.Requests())
		return s
	}
	measure(true) // warm up
	measure(false)
	var ww, wc, dw, dc []time.Duration
	var wCalls, dCalls int
	for i := range rounds {
		order := []bool{true, false}
		if i%2 == 1 {
			order = []bool{false, true}
		}
		for _, isWorker := range order {
			s := measure(isWorker)
			if isWorker {
				ww, wc, wCalls = append(ww, s.wall), append(wc, s.cpu), wCalls+s.calls
			} else {
				dw, dc, dCalls = append(dw, s.wall), append(dc, s.cpu), dCalls+s.calls
			}
		}
	}
	wallRatio := float64(median(ww)) / float64(median(dw))
	cpuRatio := float64(median(wc)) / float64(median(dc))
	perCall := func(d time.Duration, calls int) time.Duration { return d * rounds / time.Duration(calls) }
	t.Logf("1,000 steps, 16 in flight: Worker %v (CPU %v), direct loop %v (CPU %v): wall ×%.3f, CPU ×%.3f; per call %v against %v (×%.3f); %d against %d calls a round (medians of %d ABBA rounds)",
		median(ww).Round(time.Millisecond), median(wc).Round(time.Millisecond), median(dw).Round(time.Millisecond), median(dc).Round(time.Millisecond),
		wallRatio, cpuRatio,
		perCall(median(ww), wCalls).Round(100*time.Nanosecond), perCall(median(dw), dCalls).Round(100*time.Nanosecond),
		float64(perCall(median(ww), wCalls))/float64(perCall(median(dw), dCalls)),
		wCalls/rounds, dCalls/rounds, rounds)
	limit := 1.5
	if os.Getenv("WORKER_STRICT_OVERHEAD") == "1" {
		limit = 1.10
	}
	if wallRatio > limit {
		t.Errorf("the Worker takes ×%.3f the direct loop's time, limit ×%.2f", wallRatio, limit)
	}
}
