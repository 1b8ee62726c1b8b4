package benchcmp

import (
	"math"
	"testing"
)

// The ratios TestRatios asserts, each the best (lowest) ns/op of the
// comparison over the best of ours.
//
// ParseToken against the regexp: the 10× holds with room (about 13×
// to 15× on the project's 2-core machine).
//
// FailureInput against validator/v10: the 10× holds, at about 13× to
// 14× (≈40 ns against ≈550 ns, both with 0 allocations). Both must scan the
// 256-character reason; validate.Length does it 32 ASCII bytes at a time,
// which is what gets FailureInput past 10× (byte by byte it was ≈155 ns, 3.5×).
const (
	minTokenRatio = 10
	minInputRatio = 10
)

// rounds is how many times each benchmark of a pair runs; the best counts,
// which keeps a noisy machine from failing the test.
const rounds = 3

func TestRatios(t *testing.T) {
	if testing.Short() {
		t.Skip("runs benchmarks; skipped under -short")
	}
	if raceEnabled {
		t.Skip("the race detector distorts timings")
	}
	for _, p := range []struct {
		ours, theirs   string
		fOurs, fTheirs func(*testing.B)
		min            float64
	}{
		{"ParseToken", "RegexpToken", BenchmarkParseToken, BenchmarkRegexpToken, minTokenRatio},
		{"FailureInput", "ValidatorV10", BenchmarkFailureInput, BenchmarkValidatorV10, minInputRatio},
	} {
		bestOurs, bestTheirs := math.Inf(1), math.Inf(1)
		for range rounds {
			bestOurs = math.Min(bestOurs, nsPerOp(testing.Benchmark(p.fOurs)))
			bestTheirs = math.Min(bestTheirs, nsPerOp(testing.Benchmark(p.fTheirs)))
		}
		ratio := bestTheirs / bestOurs
		t.Logf("%s %.1f ns/op, %s %.1f ns/op: %.1f× faster (best of %d)", p.ours, bestOurs, p.theirs, bestTheirs, ratio, rounds)
		if ratio < p.min {
			t.Errorf("%s is %.1f× faster than %s, want at least %v×", p.ours, ratio, p.theirs, p.min)
		}
	}
}

func nsPerOp(r testing.BenchmarkResult) float64 {
	if r.N == 0 {
		return math.Inf(1)
	}
	return float64(r.T.Nanoseconds()) / float64(r.N)
}
