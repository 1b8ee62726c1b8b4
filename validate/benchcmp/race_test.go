//go:build race

package benchcmp

// raceEnabled: the race detector slows code unevenly, so TestRatios skips.
const raceEnabled = true
