package callbacktest

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/stepcallback/sagemaker-callback/callback/internal/names"
)

// The statuses of a Step.
const (
	StatusExecuting = names.StatusExecuting // registered, waiting for a success or a failure
	StatusSucceeded = "Succeeded"           // completed by SendPipelineExecutionStepSuccess
	StatusFailed    = "Failed"              // completed by SendPipelineExecutionStepFailure
)

// The operations the fake serves, as Request.Operation and Fault.ForOperation
// name them.
const (
	OpFailure = names.OpFailure
	OpSuccess = names.OpSuccess
)

// The credentials of the client that Server.Client returns. The fake never
// checks a signature, so any keys work; these are AWS's documentation examples.
const (
	AccessKeyID     = "AKIDEXAMPLE"
	SecretAccessKey = "SECRETEXAMPLE"
)

// Options configures a Server. The zero value of every field has a default.
type Options struct {
	// Addr is the loopback address to listen on, as "host:port". The default
	// is "127.0.0.1:0", a random port. NewServer panics when the host is not a
	// loopback address: the fake is for tests and local tools, never a network.
	Addr string

	// Region is the region of the ARNs the fake makes and of the client that
	// Client returns. The default is "us-east-1". The fake does not check the
	// region of a request's credential scope.
	Region string

	// AccountID is the 12-digit account of the ARNs. The default is
	// "123456789012".
	AccountID string

	// Pipeline is the pipeline name in the execution ARNs. The default is
	// "callbacktest".
	Pipeline string

	// Now is the clock for the times the fake records and for the refill of
	// the RateLimit bucket. The default is time.Now. Delays (see Delay) run
	// on real time whatever the clock.
	Now func() time.Time

	// RateLimit, when more than zero, is how many requests a second the fake
	// accepts, as a token bucket holding up to Burst requests and refilled
	// by the clock. A request beyond it gets HTTP 400 ThrottlingException
	// "Rate exceeded" and is not processed. Zero means no limit.
	RateLimit float64

	// Burst is the size of the RateLimit bucket. The default is RateLimit
	// rounded up, at least 1.
	Burst int

	// Seed seeds the random number generator behind FailRandom: a given
	// seed and a given order of requests meet the same faults. The zero
	// value is a seed like any other.
	Seed int64

	// OnRequest, when set, is called with every Request the fake records,
	// after its answer was written (or its connection closed), on the
	// goroutine that served it. It must not call Close.
	OnRequest func(Request)

	// Queue configures the fake SQS queue (see SQSClient and QueueURL).
	Queue QueueOptions
}

// Output is one output parameter of a step completed by
// SendPipelineExecutionStepSuccess, or of such a request.
type Output struct {
	Name  string // the parameter's name
	Value string // the parameter's value
}

// Step is a copy of the state of one callback step, as Server.Step returns it.
type Step struct {
	Token         string    // the callback token
	ExecutionARN  string    // the ARN of the pipeline execution the step belongs to
	Status        string    // StatusExecuting, StatusSucceeded or StatusFailed
	FailureReason string    // the reason of the completing failure request ("" when none was sent)
	Outputs       []Output  // the output parameters of the completing success request
	Completions   int       // how many requests changed the step: 0 or 1
	Replays       int       // how many requests were answered again from the completion's ClientRequestToken
	Conflicts     int       // how many completions were refused with ConflictException
	Registered    time.Time // when AddStep or NewStep registered it
	Completed     time.Time // when it was completed; zero while executing
}

// Request is the record of one HTTP request the fake received, and of its
// answer. Members that were absent from the body are zero ("" or nil).
type Request struct {
	Operation          string   // short operation name, e.g. OpFailure; from X-Amz-Target
	Target             string   // the X-Amz-Target header as sent
	CallbackToken      string   // the CallbackToken member
	FailureReason      *string  // the FailureReason member, nil when absent
	OutputParameters   []Output // the OutputParameters member
	ClientRequestToken string   // the ClientRequestToken member, "" when absent

	Attempt      int       // N of the Amz-Sdk-Request header "attempt=N; max=M"; 0 when absent
	MaxAttempts  int       // M of the same header; 0 when absent
	InvocationID string    // the Amz-Sdk-Invocation-Id header
	RequestID    string    // the X-Amzn-Requestid of the answer (set even when no answer was sent)
	Received     time.Time // when the request arrived, by Options.Now

	// The answer. StatusCode is 0 when the connection was closed without one;
	// then, for DropAfterCommit, the other fields hold the answer that was
	// lost, and they are empty otherwise.
	StatusCode   int    // the HTTP status of the answer
	ErrorCode    string // the error code of the answer, "" on success
	ErrorMessage string // the error message of the answer
	ExecutionARN string // the ARN of the answer, "" for an error
	Fault        Fault  // the fault the request met, without its aim; the zero Fault when none
	Completed    bool   // this request completed the step
	Replayed     bool   // this request was answered from an earlier completion with its ClientRequestToken
	InFlight     bool   // the request is still being served: no answer yet (its members are known once decoded)
}

// Server is a local SageMaker serving SendPipelineExecutionStepFailure and
// SendPipelineExecutionStepSuccess over HTTP on a loopback address. It is
// safe for concurrent use. Start one with NewServer and stop it with Close.
type Server struct {
	opts      Options
	url       string
	ln        net.Listener
	srv       *http.Server
	transport *http.Transport
	client    *sagemaker.Client
	serveDone chan struct{}
	closing   chan struct{} // closed by Close: ends delays
	closeOnce sync.Once

	mu       sync.Mutex
	closed   bool // no new handler may start
	inflight sync.WaitGroup
	steps    map[string]*Step
	order    []string // tokens in the order of registration
	idem     map[string]*idemRecord
	requests []Request
	next     []*queuedFault
	random   []randomFault
	rng      *rand.Rand
	tokens   float64 // the RateLimit bucket
	refilled time.Time

	testHook atomic.Pointer[func(op string)] // called after decoding; set by tests only

	queue *queue // the fake SQS queue
}

// idemRecord is what a completion with a ClientRequestToken left: the
// parameters it was sent with and the answer it got.
type idemRecord struct {
	op      string
	token   string
	reason  *string
	outputs []Output
	arn     string
}

// NewServer starts a Server on a loopback address and returns it. It panics
// when it cannot listen, like httptest.NewServer. Call Close when done.
func NewServer(optFns ...func(*Options)) *Server {
	var o Options
	for _, fn := range optFns {
		fn(&o)
	}
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.AccountID == "" {
		o.AccountID = "123456789012"
	}
	if o.Pipeline == "" {
		o.Pipeline = "callbacktest"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.RateLimit < 0 || math.IsNaN(o.RateLimit) || math.IsInf(o.RateLimit, 0) {
		panic(fmt.Sprintf("callbacktest: RateLimit %v is not a finite number of requests a second", o.RateLimit))
	}
	if o.Burst <= 0 {
		o.Burst = max(1, int(math.Ceil(o.RateLimit)))
	}
	if err := checkLoopback(o.Addr); err != nil {
		panic("callbacktest: " + err.Error())
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		panic(fmt.Sprintf("callbacktest: listen on %s: %v", o.Addr, err))
	}
	s := &Server{
		opts:      o,
		ln:        ln,
		url:       "http://" + ln.Addr().String(),
		serveDone: make(chan struct{}),
		closing:   make(chan struct{}),
		steps:     make(map[string]*Step),
		idem:      make(map[string]*idemRecord),
		rng:       rand.New(rand.NewPCG(uint64(o.Seed), 0x63616c6c6261636b)), // "callback"
		tokens:    float64(o.Burst),
		refilled:  o.Now(),
	}
	s.srv = &http.Server{
		Handler:           http.HandlerFunc(s.dispatch),
		ReadHeaderTimeout: 30 * time.Second,
	}
	s.transport = &http.Transport{
		Proxy:               nil, // never a proxy for loopback, whatever HTTP_PROXY says
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        512,
		MaxIdleConnsPerHost: 512,
		IdleConnTimeout:     90 * time.Second,
	}
	s.client = sagemaker.New(sagemaker.Options{
		Region:       o.Region,
		BaseEndpoint: aws.String(s.url),
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
		HTTPClient:   &http.Client{Transport: s.transport},
	})
	s.initSQS()
	go func() {
		defer close(s.serveDone)
		_ = s.srv.Serve(ln) // returns http.ErrServerClosed on Close
	}()
	return s
}

// checkLoopback reports an error when addr's host is not a loopback address.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q: %v", addr, err)
	}
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("address %q is not a loopback address", addr)
}

// URL returns the base URL of the server, "http://127.0.0.1:PORT", for an SDK
// client's BaseEndpoint or a tool's --endpoint-url.
func (s *Server) URL() string { return s.url }

// Client returns a real SageMaker client of the AWS SDK wired to the server:
// region Options.Region, BaseEndpoint URL(), static credentials AccessKeyID
// and SecretAccessKey, the SDK's default retryer, and an HTTP transport of
// its own that Close shuts. Every call returns the same client.
func (s *Server) Client() *sagemaker.Client { return s.client }

// Close ends delays in progress (their connections close with no answer),
// stops the server, waits for every request being served, and closes the idle
// connections of the client that Client returns. Close may be called more
// than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.closing)
		s.transport.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		if err := s.srv.Shutdown(ctx); err != nil {
			// A connection that never sent a request, or a handler stuck in
			// OnRequest: cut what is left.
			_ = s.srv.Close()
		}
		cancel()
		<-s.serveDone
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.inflight.Wait()
		s.transport.CloseIdleConnections()
	})
}

// enter registers a handler in flight; it reports false once Close has
// finished stopping the server.
func (s *Server) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.inflight.Add(1)
	return true
}

// AddStep registers a callback step with the given token, waiting (status
// StatusExecuting) in a new pipeline execution, and returns that execution's
// ARN. A token already registered is left as it is, and its execution's ARN
// returned. Any string is registered, but a token that is not a valid callback
// token (10 ASCII letters and digits) can never be completed: a request that
// carries it is refused with ValidationException before the step is looked up.
func (s *Server) AddStep(token string) (executionARN string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.steps[token]; ok {
		return st.ExecutionARN
	}
	arn := s.newExecutionARN()
	s.steps[token] = &Step{
		Token:        token,
		ExecutionARN: arn,
		Status:       StatusExecuting,
		Registered:   s.opts.Now(),
	}
	s.order = append(s.order, token)
	return arn
}

// NewStep registers a callback step with a new random token, as AddStep, and
// returns the token and the ARN of its pipeline execution.
func (s *Server) NewStep() (token, executionARN string) {
	for {
		token = randomString(tokenAlphabet, 10)
		s.mu.Lock()
		_, taken := s.steps[token]
		s.mu.Unlock()
		if !taken {
			return token, s.AddStep(token)
		}
	}
}

func (s *Server) newExecutionARN() string {
	return fmt.Sprintf("arn:%s:sagemaker:%s:%s:pipeline/%s/execution/%s",
		partition(s.opts.Region), s.opts.Region, s.opts.AccountID, s.opts.Pipeline,
		randomString(executionAlphabet, 12))
}

// partition returns the ARN partition of a region.
func partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	case strings.HasPrefix(region, "us-iso-"):
		return "aws-iso"
	case strings.HasPrefix(region, "us-isob-"):
		return "aws-iso-b"
	}
	return "aws"
}

// Step returns a copy of the step registered with the token, and whether
// there is one.
func (s *Server) Step(token string) (Step, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.steps[token]
	if !ok {
		return Step{}, false
	}
	return copyStep(st), true
}

// Steps returns copies of every registered step, in the order of registration.
func (s *Server) Steps() []Step {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Step, 0, len(s.order))
	for _, t := range s.order {
		out = append(out, copyStep(s.steps[t]))
	}
	return out
}

func copyStep(st *Step) Step {
	c := *st
	c.Outputs = copyOutputs(st.Outputs)
	return c
}

func copyOutputs(o []Output) []Output {
	if o == nil {
		return nil
	}
	return append([]Output(nil), o...)
}

// Requests returns copies of the records of every request received so far,
// in the order they arrived. A request still being served (held by a Delay,
// say) is listed with InFlight set; a request is recorded with its answer
// before the answer is sent, so a client that has its answer finds it here.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i := range s.requests {
		out[i] = copyRequest(&s.requests[i])
	}
	return out
}

func copyRequest(r *Request) Request {
	c := *r
	if r.FailureReason != nil {
		c.FailureReason = aws.String(*r.FailureReason)
	}
	c.OutputParameters = copyOutputs(r.OutputParameters)
	return c
}

// allow takes one request from the RateLimit bucket; it reports false when
// the bucket is empty. It is called with s.mu held.
func (s *Server) allow() bool {
	if s.opts.RateLimit <= 0 {
		return true
	}
	now := s.opts.Now()
	if d := now.Sub(s.refilled); d > 0 {
		s.tokens = math.Min(float64(s.opts.Burst), s.tokens+d.Seconds()*s.opts.RateLimit)
		s.refilled = now
	}
	if s.tokens < 1 {
		return false
	}
	s.tokens--
	return true
}
