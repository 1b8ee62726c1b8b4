// Package typednil holds the one check, for package callback and its
// worker, of a value that is nil inside an interface: a nil *sagemaker.Client
// given as an API, a nil pointer returned as an error, a nil provider.
package typednil
