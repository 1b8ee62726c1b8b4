// Package names holds the one definition of the names that package callback
// and its fake, callbacktest, both offer: the operations' names and the
// statuses of a callback step's SQS message.
package names
