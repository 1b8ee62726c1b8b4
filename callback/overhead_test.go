package callback_test

import (
	"context"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/stepcallback/sagemaker-callback/callback"
	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
)

// failVariants are the calls TestFailAllocBudget and TestFailOverhead
// compare, like for like: the same fake, the same SDK client, a fresh step
// per call, all succeeding. The first is the raw SDK call.
func failVariants(t *testing.T, srv *callbacktest.Server) []struct {
	name string
	call func(token string)
} {
	api := srv.Client()
	client := callback.New(api)
	noTimeout := callback.New(api, func(o *callback.Options) { o.Retry.AttemptTimeout = -1 })
	ctx := context.Background()
	reason := callback.MustParseReason("disk full")
	fail := func(c *callback.Client) func(string) {
		return func(token string) {
			if _, err := c.Fail(ctx, callback.MustParseToken(token), reason); err != nil {
				t.Fatal(err)
			}
		}
	}
	return []struct {
		name string
		call func(token string)
	}{
		{"raw SDK call", func(token string) {
			if _, err := api.SendPipelineExecutionStepFailure(ctx, &sagemaker.SendPipelineExecutionStepFailureInput{
				CallbackToken: aws.String(token),
				FailureReason: aws.String(reason.String()),
			}); err != nil {
				t.Fatal(err)
			}
		}},
		{"Client.Fail", fail(client)},
		{"Client.Fail, AttemptTimeout -1", fail(noTimeout)},
	}
}

// TestFailAllocBudget checks that Client.Fail allocates at most 18 times
// more per call than the raw SDK call (BenchmarkClientFail and
// BenchmarkRawSDKFail report both). 18 is what it cost when retry was
// rebuilt on backoff/v4 (issue 9): about 10 in retry.Do (the backoff state,
// its context and retry wrappers, the attempt's context.WithTimeoutCause)
// and the rest in Client's request. Tracing and metrics with no providers
// must add none (issue 13).
func TestFailAllocBudget(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector adds allocations")
	}
	srv := callbacktest.NewServer()
	defer srv.Close()
	variants := failVariants(t, srv)
	const runs = 200
	allocs := make([]float64, 2)
	for i := range allocs {
		tokens := steps(srv, runs+1) // AllocsPerRun makes one warm-up call
		n := 0
		allocs[i] = testing.AllocsPerRun(runs, func() {
			variants[i].call(tokens[n])
			n++
		})
	}
	t.Logf("allocations per call: raw SDK call %.0f, Client.Fail %.0f", allocs[0], allocs[1])
	if extra := allocs[1] - allocs[0]; extra > 18 {
		t.Errorf("Client.Fail allocates %.0f more per call than the raw SDK call, budget 18", extra)
	}
}

// TestFailOverhead measures Client.Fail's time against the raw SDK call's,
// and asserts the aim of 5%. It is a wall-clock measurement, so it runs only
// when asked: CALLBACK_TIMING=1 go test -run TestFailOverhead -v ./callback/.
// Each round runs the variants in a new random order, so that drift on a
// shared machine, and each one's garbage, hit all of them alike; the medians
// of the rounds are compared.
func TestFailOverhead(t *testing.T) {
	if os.Getenv("CALLBACK_TIMING") != "1" {
		t.Skip("a wall-clock measurement; set CALLBACK_TIMING=1 to run it")
	}
	if raceEnabled {
		t.Skip("the race detector distorts timings")
	}
	const rounds, perRound = 40, 200
	srv := callbacktest.NewServer()
	defer srv.Close()
	variants := failVariants(t, srv)
	for _, v := range variants { // warm up connections and pools
		for _, tok := range steps(srv, 50) {
			v.call(tok)
		}
	}
	wall := make([][]time.Duration, len(variants))
	rng := rand.New(rand.NewPCG(1, 2))
	for range rounds {
		for _, i := range rng.Perm(len(variants)) {
			tokens := steps(srv, perRound)
			start := time.Now()
			for _, tok := range tokens {
				variants[i].call(tok)
			}
			wall[i] = append(wall[i], time.Since(start)/perRound)
		}
	}
	median := func(ds []time.Duration) time.Duration {
		s := slices.Clone(ds)
		slices.Sort(s)
		return s[len(s)/2]
	}
	base := median(wall[0])
	for i, v := range variants {
		t.Logf("%-32s %v (×%.3f); medians of %d rounds of %d calls", v.name, median(wall[i]), float64(median(wall[i]))/float64(base), rounds, perRound)
	}
	if ratio := float64(median(wall[1])) / float64(base); ratio > 1.05 {
		t.Errorf("Client.Fail takes ×%.3f the raw call's time, aim ×1.05", ratio)
	}
}
