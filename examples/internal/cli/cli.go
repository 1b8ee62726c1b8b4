package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/stepcallback/sagemaker-callback/callback"
)

// Exit codes of the example programs.
const (
	ExitOK     = 0
	ExitFailed = 1 // the service refused or could not be reached
	ExitUsage  = 2 // bad flags or an invalid value: nothing was sent
)

// RemoteClient builds a Client from the standard AWS configuration chain,
// with endpoint, when not "", as the SageMaker endpoint.
func RemoteClient(ctx context.Context, endpoint string) (*callback.Client, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	return callback.New(sagemaker.NewFromConfig(cfg, func(o *sagemaker.Options) {
		if endpoint != "" {
			o.BaseEndpoint = &endpoint
		}
	})), nil
}

// classes names each error class for a person.
var classes = []struct {
	class error
	name  string
	hint  string
}{
	{callback.ErrNotFound, "not found", "no step waits for this token: it is unknown, expired, or its execution is gone"},
	{callback.ErrConflict, "conflict", "the step was already completed by another report; its outcome stands"},
	{callback.ErrThrottled, "throttled", "the service throttled every attempt; run again later (it is safe: the request is idempotent)"},
	{callback.ErrUnavailable, "unavailable", "the service or the network failed every attempt; run again (it is safe: the request is idempotent)"},
	{callback.ErrAccessDenied, "access denied", "check the credentials and the IAM policy (sagemaker:SendPipelineExecutionStep*)"},
	{callback.ErrLimitExceeded, "limit exceeded", "an account quota was reached"},
	{callback.ErrInvalid, "invalid", "the request breaks the API's rules"},
	{callback.ErrUnexpected, "unexpected answer", "run again with the same arguments to find out (it is safe: the request is idempotent)"},
	{context.DeadlineExceeded, "timed out", "run again with the same arguments (it is safe: the request is idempotent)"},
	{context.Canceled, "canceled", "run again with the same arguments (it is safe: the request is idempotent)"},
}

// Report writes err for a person, naming its class, and returns the exit
// code: ExitUsage for a request refused before sending, ExitFailed otherwise.
func Report(w io.Writer, err error) int {
	var ce *callback.Error
	sent := !errors.As(err, &ce) || ce.Attempts > 0
	for _, c := range classes {
		if errors.Is(err, c.class) {
			fmt.Fprintf(w, "error: %s: %s\n  %v\n", c.name, c.hint, err)
			if !sent {
				fmt.Fprintln(w, "  nothing was sent")
				return ExitUsage
			}
			return ExitFailed
		}
	}
	fmt.Fprintf(w, "error: %v\n", err)
	return ExitFailed
}
