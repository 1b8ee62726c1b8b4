package retry_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/smithy-go"
	"github.com/stepcallback/sagemaker-callback/retry"
)

func ExampleDo() {
	calls := 0
	op := func(ctx context.Context) error {
		calls++
		if calls < 3 {
			return &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}
		}
		return nil // in real use: the SDK call, with o.Retryer = aws.NopRetryer{}
	}
	p := retry.Policy{
		InitialInterval:     time.Millisecond,
		RandomizationFactor: -1, // no jitter: exact waits
	}
	err := retry.Do(context.Background(), p, op, func(o *retry.Options) {
		o.OnRetry = func(w retry.Wait) {
			fmt.Printf("attempt %d failed (%v); next in %v\n", w.Attempt, w.Err, w.Delay)
		}
	})
	fmt.Println("calls:", calls, "err:", err)
	// Output:
	// attempt 1 failed (api error ThrottlingException: Rate exceeded); next in 1ms
	// attempt 2 failed (api error ThrottlingException: Rate exceeded); next in 2ms
	// calls: 3 err: <nil>
}

func ExampleError() {
	op := func(ctx context.Context) error {
		msg := "Callback token not found"
		return &types.ResourceNotFound{Message: &msg}
	}
	err := retry.Do(context.Background(), retry.Policy{}, op)

	var re *retry.Error
	if errors.As(err, &re) {
		fmt.Println("attempts:", re.Attempts, "retryable:", re.Reason != nil)
	}
	var notFound *types.ResourceNotFound
	fmt.Println("not found:", errors.As(err, &notFound))
	fmt.Println(err)
	// Output:
	// attempts: 1 retryable: false
	// not found: true
	// retry: attempt 1 failed, not retryable: ResourceNotFound: Callback token not found
}
