package retry_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fakeTimer is a retry.Timer that records the requested delays. With auto
// set it fires as soon as it is started; otherwise the test fires it by
// hand with fire, after reading the delay from started.
type fakeTimer struct {
	auto    bool
	c       chan time.Time
	started chan time.Duration // receives each requested delay when !auto

	mu      sync.Mutex
	delays  []time.Duration
	stopped int
}

func newFakeTimer(auto bool) *fakeTimer {
	return &fakeTimer{auto: auto, c: make(chan time.Time, 1), started: make(chan time.Duration, 100)}
}

func (f *fakeTimer) Start(d time.Duration) {
	f.mu.Lock()
	f.delays = append(f.delays, d)
	f.mu.Unlock()
	if f.auto {
		f.c <- time.Time{}
		return
	}
	f.started <- d
}

func (f *fakeTimer) C() <-chan time.Time { return f.c }

func (f *fakeTimer) Stop() {
	f.mu.Lock()
	f.stopped++
	f.mu.Unlock()
}

func (f *fakeTimer) fire() { f.c <- time.Now() }

// Now makes the fake a backoff.Clock on which time passes only by the
// requested waits, so that MaxElapsedTime counts them.
func (f *fakeTimer) Now() time.Time {
	var sum time.Duration
	for _, d := range f.Delays() {
		sum += d
	}
	return time.Unix(0, 0).Add(sum)
}

func (f *fakeTimer) Delays() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.delays...)
}

func (f *fakeTimer) Stopped() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stopped
}

// The errors below are built the way aws-sdk-go-v2 builds them:
// *smithy.OperationError → *awshttp.ResponseError → *smithyhttp.ResponseError
// → the API error.

func respErr(status int, inner error) error {
	return &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status, Header: http.Header{}}},
			Err:      inner,
		},
		RequestID: "4f9d2c0e-0000-4000-8000-000000000000",
	}
}

func opErr(inner error) error {
	return &smithy.OperationError{
		ServiceID:     "SageMaker",
		OperationName: "SendPipelineExecutionStepFailure",
		Err:           inner,
	}
}

// apiErr is an unmodeled service error, as the SDK reports it.
func apiErr(status int, code string) error {
	return opErr(respErr(status, &smithy.GenericAPIError{Code: code, Message: "message for " + code}))
}

func throttle() error { return apiErr(400, "ThrottlingException") }
