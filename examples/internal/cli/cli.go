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

// Report writes err for a person, naming its class and what can be done
// about it (callback.ClassOf), and returns the exit code: ExitUsage for a
// request refused before sending, ExitFailed otherwise.
func Report(w io.Writer, err error) int {
	c, ok := callback.ClassOf(err)
	if !ok {
		fmt.Fprintf(w, "error: %v\n", err)
		return ExitFailed
	}
	var ce *callback.Error
	if errors.As(err, &ce) && ce.Attempts == 0 {
		// The class's hint may say the completion may have been recorded;
		// the Error's message ends with the hint for nothing sent.
		fmt.Fprintf(w, "error: %v\n  %v\n  nothing was sent\n", c.Err, err)
		return ExitUsage
	}
	fmt.Fprintf(w, "error: %v: %s\n  %v\n", c.Err, c.Hint, err)
	return ExitFailed
}
