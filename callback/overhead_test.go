package callback_test

import (
	"context"
	"math"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/stepcallback/sagemaker-callback/callback"
	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
)

// TestFailOverhead measures Client.Fail against the raw SDK call in one run,
// like for like: the same fake, the same SDK client, a fresh step per call,
// both succeeding. Rounds of the two alternate in ABBA order, so drift on a
// shared machine hits both; the medians are compared.
//
// It asserts the allocation budget (at most 15 more per call), which is
// steady. Time on this 2-core machine varies by more than the 5% budget from
// round to round, so the time ratio is logged, and asserted only loosely
// (25%) unless CALLBACK_STRICT_OVERHEAD=1 asks for the budget itself.
func TestFailOverhead(t *testing.T) {
	if testing.Short() {
		t.Skip("a measurement; skipped under -short")
	}
	if raceEnabled {
		t.Skip("the race detector distorts timings and allocations")
	}
	const rounds, perRound = 20, 300
	srv := callbacktest.NewServer()
	defer srv.Close()
	api := srv.Client()
	client := callback.New(api)
	ctx := context.Background()
	reason := callback.MustParseReason("disk full")

	raw := func(tokens []string) {
		for _, tok := range tokens {
			if _, err := api.SendPipelineExecutionStepFailure(ctx, &sagemaker.SendPipelineExecutionStepFailureInput{
				CallbackToken: aws.String(tok),
				FailureReason: aws.String(reason.String()),
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	facade := func(tokens []string) {
		for _, tok := range tokens {
			if _, err := client.Fail(ctx, callback.MustParseToken(tok), reason); err != nil {
				t.Fatal(err)
			}
		}
	}
	measure := func(f func([]string)) (perCall, cpu time.Duration, allocs float64) {
		tokens := steps(srv, perRound)
		var before, after runtimeStats
		before.read()
		start := time.Now()
		f(tokens)
		elapsed := time.Since(start)
		after.read()
		return elapsed / perRound, (after.cpu - before.cpu) / perRound, float64(after.mallocs-before.mallocs) / perRound
	}
	raw(steps(srv, 50)) // warm up connections and pools
	facade(steps(srv, 50))

	var rawT, facT, rawC, facC []time.Duration
	var rawA, facA []float64
	for i := 0; i < rounds; i++ {
		// ABBA order, so neither side always runs second (after the other's
		// garbage, with a larger fake).
		order := []bool{true, false}
		if i%2 == 1 {
			order = []bool{false, true}
		}
		for _, isRaw := range order {
			if isRaw {
				d, c, a := measure(raw)
				rawT, rawC, rawA = append(rawT, d), append(rawC, c), append(rawA, a)
			} else {
				d, c, a := measure(facade)
				facT, facC, facA = append(facT, d), append(facC, c), append(facA, a)
			}
		}
	}
	rt, ft := median(rawT), median(facT)
	ra, fa := medianF(rawA), medianF(facA)
	ratio := float64(ft) / float64(rt)
	rc, fc := median(rawC), median(facC)
	t.Logf("raw SDK call %v (CPU %v), %.0f allocs; Client.Fail %v (CPU %v), %.0f allocs: time ×%.3f, CPU ×%.3f, %+.0f allocs (medians of %d rounds of %d calls)",
		rt, rc, ra, ft, fc, fa, ratio, float64(fc)/float64(rc), fa-ra, rounds, perRound)
	if fa-ra > 15 {
		t.Errorf("Client.Fail allocates %.0f more per call than the raw SDK call, budget 15", fa-ra)
	}
	limit := 1.25
	if os.Getenv("CALLBACK_STRICT_OVERHEAD") == "1" {
		limit = 1.05
	}
	if ratio > limit || math.IsNaN(ratio) {
		t.Errorf("Client.Fail takes ×%.3f the raw call's time, limit ×%.2f", ratio, limit)
	}
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func medianF(fs []float64) float64 {
	s := append([]float64(nil), fs...)
	sort.Float64s(s)
	return s[len(s)/2]
}
