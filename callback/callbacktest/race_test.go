//go:build race

package callbacktest_test

// loadCalls is the number of SDK calls of TestLoad. The race detector slows
// each call some tenfold, so under -race the test makes fewer.
const loadCalls = 2_000
