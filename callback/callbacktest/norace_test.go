//go:build !race

package callbacktest_test

// loadCalls is the number of SDK calls of TestLoad.
const loadCalls = 10_000
