package callback

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
)

var (
	defaultMu     sync.Mutex
	defaultClient *Client
)

// Default returns the Client that the package-level Fail and Succeed use. The
// first call builds it from the standard AWS configuration chain
// (config.LoadDefaultConfig: environment, shared files, IMDS...) with the
// default Options. If loading fails, Default returns the error and the next
// call tries again.
func Default(ctx context.Context) (*Client, error) {
	defaultMu.Lock()
	defer defaultMu.Unlock()
	if defaultClient != nil {
		return defaultClient, nil
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("callback: loading the default AWS configuration: %w", err)
	}
	defaultClient = New(sagemaker.NewFromConfig(cfg))
	return defaultClient, nil
}

// SetDefault makes c the Client that the package-level Fail and Succeed use,
// and returns the one it replaces (nil if none was built yet). SetDefault(nil)
// goes back to building one from the AWS configuration on next use. Tests use
// it to point the package-level functions at callbacktest:
//
//	srv := callbacktest.NewServer()
//	defer srv.Close()
//	old := callback.SetDefault(callback.New(srv.Client()))
//	defer callback.SetDefault(old)
func SetDefault(c *Client) (previous *Client) {
	defaultMu.Lock()
	defer defaultMu.Unlock()
	previous, defaultClient = defaultClient, c
	return previous
}

// Fail reports that the step of tok failed, with the default Client (see
// Default and SetDefault): Default(ctx), then Client.Fail with optFns. When
// the configuration cannot be loaded, the error is an *Error of class
// ErrAccessDenied with nothing sent.
func Fail(ctx context.Context, tok Token, reason Reason, optFns ...func(*Options)) (ExecutionARN, error) {
	c, err := Default(ctx)
	if err != nil {
		return ExecutionARN{}, configError(OpFailure, err)
	}
	return c.Fail(ctx, tok, reason, optFns...)
}

// Succeed reports that the step of tok succeeded, with the default Client:
// Default(ctx), then Client.Succeed with optFns, as Fail.
func Succeed(ctx context.Context, tok Token, outputs []Output, optFns ...func(*Options)) (ExecutionARN, error) {
	c, err := Default(ctx)
	if err != nil {
		return ExecutionARN{}, configError(OpSuccess, err)
	}
	return c.Succeed(ctx, tok, outputs, optFns...)
}

// configError is the error of a call that could not load the default
// configuration, which is where credentials come from.
func configError(op string, err error) *Error {
	return &Error{Op: op, Class: ErrAccessDenied, msg: quote(err.Error(), Token{}, 1024), err: err}
}
