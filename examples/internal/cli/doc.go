// Package cli holds what the example programs share: building a Client for a
// real endpoint and turning a failure into a message and an exit code.
package cli
