// Package benchcmp compares the checks of package validate (and the value
// types of package callback built on them) with the two ways people write the
// same checks today: a regexp plus a length check, and struct tags for
// github.com/go-playground/validator/v10. It holds only tests and benchmarks.
//
// It is a separate module, nested in the library's repository, so that
// validator/v10 and its dependencies (golang.org/x/crypto, x/text, x/sys,
// mimetype, locales...) stay out of the library's go.mod: a module's go.mod
// requirements enter the module graph of every program that imports it, even
// when only tests use them. This module requires the library at v0.0.0 and
// replaces it with ../.., so it always measures the code beside it. The
// library's own "go test ./..." does not enter this directory.
//
// Run every benchmark in one run, and the parity test:
//
//	cd validate/benchcmp
//	go test -run . -bench . -benchtime=200ms
//
// The pairs to read side by side (no test asserts their ratios: timings
// belong to benchmarks):
//
//	BenchmarkParseToken      vs BenchmarkRegexpToken  (a CallbackToken)
//	BenchmarkFailureInput    vs BenchmarkValidatorV10 (a whole failure request)
//
// TestParity shows where the three ways agree and where they do not: the
// regexp and validator/v10 ways, written as people usually write them, accept
// invalid UTF-8 in the free-text members and an empty ClientRequestToken,
// which the model does not allow.
package benchcmp
