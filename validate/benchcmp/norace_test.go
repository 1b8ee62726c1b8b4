//go:build !race

package benchcmp

const raceEnabled = false
