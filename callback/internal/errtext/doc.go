// Package errtext gets the text of any error value without panicking, for
// package callback (ReasonFromError) and its worker, which must survive the
// errors that handlers return.
package errtext
