package callbacktest

import (
	"cmp"
	"context"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/stepcallback/sagemaker-callback/callback/internal/names"
)

// The statuses of a Step.
const (
	StatusExecuting = names.StatusExecuting // registered, waiting for a success or a failure
	StatusSucceeded = "Succeeded"           // completed by SendPipelineExecutionStepSuccess
	StatusFailed    = "Failed"              // completed by SendPipelineExecutionStepFailure
)

// The SageMaker operations the fake serves, as Request.Operation and
// Fault.ForOperation name them.
const (
	OpFailure = names.OpFailure
	OpSuccess = names.OpSuccess
)

// The credentials of the clients that Client and SQSClient return. The fake
// never checks a signature, so any keys work; these are AWS's documentation
// examples.
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

	// Region is the server's region: that of every ARN it makes and of the
	// clients Client and SQSClient return. A request signed for another
	// region is refused. The default is "us-east-1".
	Region string

	// AccountID is the 12-digit account of every ARN and of the queue's URL.
	// The default is "123456789012".
	AccountID string

	// Pipeline is the name of the pipeline that the steps of AddStep, NewStep
	// and StartStep belong to: a pipeline of one callback step, named
	// "callback", whose messages go to the fake's queue (see the package
	// doc). The default is "callbacktest".
	Pipeline string

	// Now is the clock for the times the fake records and for the refill of
	// the RateLimit bucket. The default is time.Now. Delays, visibility
	// timeouts and long polls run on real time whatever the clock.
	Now func() time.Time

	// RateLimit, when more than zero, is how many SageMaker requests a second
	// the fake accepts, as a token bucket holding up to Burst requests and
	// refilled by the clock. A request beyond it gets HTTP 400
	// ThrottlingException "Rate exceeded" and is not processed. Zero means no
	// limit. SQS requests are never limited.
	RateLimit float64

	// Burst is the size of the RateLimit bucket. The default is RateLimit
	// rounded up, at least 1.
	Burst int

	// Seed seeds the random number generator behind FailRandom: a given
	// seed and a given order of requests meet the same faults. The zero
	// value is a seed like any other.
	Seed int64

	// OnRequest, when set, is called with the record of every request, SQS
	// ones included (see Request.Operation), after its answer was written
	// (or its connection closed), on the goroutine that served it. It must
	// not call Close.
	OnRequest func(Request)

	// MaxRecords, when more than zero, bounds what the server keeps for a
	// long run: Requests and SQSRequests list only the latest MaxRecords
	// requests, and QueueMessages only the latest MaxRecords messages that
	// were deleted or dead-lettered (the others are always kept). Zero, the
	// default, keeps everything, as tests want. Steps and the
	// ClientRequestTokens of their completions are always kept.
	MaxRecords int

	// ReadTimeout is the longest a request's header and body, together, may
	// take to arrive, as with a real endpoint: a client that stalls is cut
	// off (its connection closed, nothing processed). A keep-alive
	// connection idle that long is closed too. The default is 30 seconds.
	ReadTimeout time.Duration

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
	Status        string    // StatusExecuting, StatusSucceeded or StatusFailed (also for a step that could not start, with no completion; a stopped step by the completion that stopped it, where ListPipelineExecutionSteps says Stopped)
	FailureReason string    // the reason of the completing failure request ("" when none was sent), or why the step could not start
	Outputs       []Output  // the output parameters of the completing success request
	Completions   int       // how many requests changed the step: 0 or 1
	Replays       int       // how many requests were answered again from the completion's ClientRequestToken
	Conflicts     int       // how many completions were refused with ConflictException
	Registered    time.Time // when it was registered (AddStep, NewStep) or started (StartStep, StartPipelineExecution, a dependency's success)
	Completed     time.Time // when it was completed; zero while executing
}

// Request is the record of one HTTP request the fake received, and of its
// answer. Members that were absent from the body are zero ("" or nil).
type Request struct {
	Operation          string   // the operation, e.g. OpFailure or OpReceiveMessage; "" when unknown
	Target             string   // the X-Amz-Target header as sent; "" in SQS's query protocol
	CallbackToken      string   // the CallbackToken member
	FailureReason      *string  // the FailureReason member, nil when absent
	OutputParameters   []Output // the OutputParameters member
	ClientRequestToken string   // the ClientRequestToken member, "" when absent
	MessageIDs         []string // SQS: the messages sent, received, deleted or changed by the request

	Attempt      int       // N of the Amz-Sdk-Request header "attempt=N; max=M"; 0 when absent
	MaxAttempts  int       // M of the same header; 0 when absent
	InvocationID string    // the Amz-Sdk-Invocation-Id header
	RequestID    string    // the X-Amzn-Requestid of the answer (set even when no answer was sent)
	Received     time.Time // when the request arrived, by Options.Now

	// The answer. StatusCode is 0 when the connection was closed without one;
	// then, for DropAfterCommit, the other fields hold the answer that was
	// lost, and they are empty otherwise.
	StatusCode   int    // the HTTP status of the answer
	ErrorCode    string // the error code of the answer as SDKs report it (SQS's query code), "" on success
	ErrorMessage string // the error message of the answer
	ExecutionARN string // the pipeline execution's ARN the answer is about, "" for an error or an answer about none (CreatePipeline, ListPipelineExecutions, SQS)
	Fault        Fault  // the fault the request met, without its aim; the zero Fault when none
	Completed    bool   // this request completed the step
	Replayed     bool   // this request was answered from an earlier completion with its ClientRequestToken
	InFlight     bool   // the request is still being served: no answer yet (its members and fault are known once decoded)
}

// Server is a local SageMaker and SQS queue, serving over HTTP on a loopback
// address. It is safe for concurrent use. Start one with NewServer and stop it
// with Close.
type Server struct {
	opts      Options
	url       string
	srv       *http.Server
	transport *http.Transport
	client    *sagemaker.Client
	sqsClient *sqs.Client
	serveDone chan struct{}
	closing   chan struct{} // closed by Close: ends delays and long polls
	closeOnce sync.Once

	mu       sync.Mutex
	closed   bool // no new handler may start
	inflight sync.WaitGroup
	steps    map[string]*Step
	order    []string // tokens in the order of registration
	idem     map[string]*idemRecord
	logs     [2]requestLog // SageMaker's requests, SQS's
	next     []*faultRule
	random   []faultRule
	rng      *rand.Rand
	tokens   float64 // the RateLimit bucket
	refilled time.Time

	testHook atomic.Pointer[func(op string)] // called after decoding; set by tests only

	queue  *queue    // the default queue, QueueURL
	queues *queueSet // every queue, the default one included

	pipes           pipelineState // guarded by mu
	defaultPipeline *pipeline     // the pipeline of Options.Pipeline
}

// requestLog is a list of request records, of which the first dropped were
// let go for Options.MaxRecords.
type requestLog struct {
	recs    []Request
	dropped int
}

// NewServer starts a Server on a loopback address and returns it. It panics
// when it cannot listen, like httptest.NewServer. Call Close when done.
func NewServer(optFns ...func(*Options)) *Server {
	var o Options
	for _, fn := range optFns {
		fn(&o)
	}
	o.Addr = cmp.Or(o.Addr, "127.0.0.1:0")
	o.Region = cmp.Or(o.Region, "us-east-1")
	o.AccountID = cmp.Or(o.AccountID, "123456789012")
	o.Pipeline = cmp.Or(o.Pipeline, "callbacktest")
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.RateLimit < 0 || math.IsNaN(o.RateLimit) || math.IsInf(o.RateLimit, 0) {
		panic(fmt.Sprintf("callbacktest: RateLimit %v is not a finite number of requests a second", o.RateLimit))
	}
	if o.Burst <= 0 {
		o.Burst = max(1, int(math.Ceil(o.RateLimit)))
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = 30 * time.Second
	}
	if err := CheckLoopback(o.Addr); err != nil {
		panic("callbacktest: " + err.Error())
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		panic(fmt.Sprintf("callbacktest: listen on %s: %v", o.Addr, err))
	}
	s := &Server{
		opts:      o,
		url:       "http://" + ln.Addr().String(),
		serveDone: make(chan struct{}),
		closing:   make(chan struct{}),
		steps:     make(map[string]*Step),
		idem:      make(map[string]*idemRecord),
		rng:       rand.New(rand.NewPCG(uint64(o.Seed), 0x63616c6c6261636b)), // "callback"
		tokens:    float64(o.Burst),
		refilled:  o.Now(),
	}
	// ReadTimeout bounds a request's header and body together, from its
	// first byte; IdleTimeout closes a keep-alive connection left idle as
	// long. The handler lifts the bound once the body is read, so that a
	// long poll's wait is not cut.
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve), ReadTimeout: o.ReadTimeout, ReadHeaderTimeout: o.ReadTimeout, IdleTimeout: o.ReadTimeout}
	s.transport = &http.Transport{
		Proxy:               nil, // never a proxy for loopback, whatever HTTP_PROXY says
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        512,
		MaxIdleConnsPerHost: 512,
		IdleConnTimeout:     90 * time.Second,
	}
	creds := credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, "")
	httpClient := &http.Client{Transport: s.transport}
	s.client = sagemaker.New(sagemaker.Options{Region: o.Region, BaseEndpoint: aws.String(s.url), Credentials: creds, HTTPClient: httpClient})
	s.sqsClient = sqs.New(sqs.Options{Region: o.Region, BaseEndpoint: aws.String(s.url), Credentials: creds, HTTPClient: httpClient})
	s.queues, s.queue = newQueues(&s.opts, s.url)
	s.pipes = newPipelineState()
	s.addDefaultPipeline()
	go func() {
		defer close(s.serveDone)
		_ = s.srv.Serve(ln) // returns http.ErrServerClosed on Close
	}()
	return s
}

// CheckLoopback reports an error when addr, a "host:port", does not name a
// loopback host (127.0.0.0/8, ::1 or localhost), as NewServer requires.
func CheckLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q: %v", addr, err)
	}
	if ip := net.ParseIP(host); strings.EqualFold(host, "localhost") || ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("address %q is not a loopback address (127.0.0.1, [::1] or localhost)", addr)
}

// URL returns the base URL of the server, "http://127.0.0.1:PORT", for an SDK
// client's BaseEndpoint or a tool's --endpoint-url.
func (s *Server) URL() string { return s.url }

// Client returns a real SageMaker client of the AWS SDK wired to the server:
// region Options.Region, BaseEndpoint URL(), static credentials AccessKeyID
// and SecretAccessKey, the SDK's default retryer, and an HTTP transport of
// its own that Close shuts. Every call returns the same client.
func (s *Server) Client() *sagemaker.Client { return s.client }

// SQSClient returns a real SQS client of the AWS SDK wired to the server, as
// Client does for SageMaker. Every call returns the same client.
func (s *Server) SQSClient() *sqs.Client { return s.sqsClient }

// Close ends delays and long polls in progress (a delayed request's
// connection closes with no answer, a long poll answers with no message),
// stops the server, waits for every request being served, and closes the idle
// connections of the clients. Close may be called more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.closing)
		s.transport.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		if err := s.srv.Shutdown(ctx); err != nil {
			_ = s.srv.Close() // a connection that never sent a request, or a stuck OnRequest
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

// AddStep registers a callback step with the given token, waiting (status
// StatusExecuting) in a new execution of the pipeline of Options.Pipeline,
// and returns that execution's ARN. No message is sent: the step is one
// whose message was lost, as a stuck step is, and the list calls
// (ListPipelineExecutions, ListPipelineExecutionSteps) show it waiting. A
// token already registered is left as it is, and its execution's ARN
// returned. Any string is registered, but a token that is not a valid callback
// token (10 ASCII letters and digits) can never be completed: a request that
// carries it is refused with ValidationException before the step is looked up.
func (s *Server) AddStep(token string) (executionARN string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.steps[token]; ok {
		return st.ExecutionARN
	}
	return s.addStep(token, map[string]any{}).e.arn
}

// addStep starts the step of a new execution of the pipeline of
// Options.Pipeline with token and arguments. Called with s.mu held.
func (s *Server) addStep(token string, arguments map[string]any) *execStep {
	p := s.defaultPipeline
	e := s.newExecution(p, map[string]any{}, "", "")
	return s.startStep(e, p.def.steps[0], token, arguments)
}

// NewStep registers a callback step with a new random token, as AddStep, and
// returns the token and the ARN of its pipeline execution.
func (s *Server) NewStep() (token, executionARN string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	token = s.newToken()
	return token, s.addStep(token, map[string]any{}).e.arn
}

// arn returns the ARN of a SageMaker resource in the server's region and
// account.
func (s *Server) arn(resource string) string {
	return "arn:" + partition(s.opts.Region) + ":sagemaker:" + s.opts.Region + ":" + s.opts.AccountID + ":" + resource
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
	c.Outputs = slices.Clone(st.Outputs)
	return c
}

// Requests returns copies of the records of every SageMaker request received
// so far (see Options.MaxRecords), in the order they arrived. A request still
// being served (held by a Delay, say) is listed with InFlight set; a request
// is recorded with its answer before the answer is sent, so a client that has
// its answer finds it here.
func (s *Server) Requests() []Request { return s.records(0) }

// SQSRequests returns copies of the records of every SQS request received so
// far, as Requests does for SageMaker's.
func (s *Server) SQSRequests() []Request { return s.records(1) }

func (s *Server) records(log int) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	recs := s.logs[log].recs
	if m := s.opts.MaxRecords; m > 0 && len(recs) > m {
		recs = recs[len(recs)-m:]
	}
	out := make([]Request, len(recs))
	for i := range recs {
		out[i] = copyRequest(&recs[i])
	}
	return out
}

func copyRequest(r *Request) Request {
	c := *r
	if r.FailureReason != nil {
		c.FailureReason = aws.String(*r.FailureReason)
	}
	c.OutputParameters = slices.Clone(r.OutputParameters)
	c.MessageIDs = slices.Clone(r.MessageIDs)
	return c
}

// record stores a copy of rec as request idx of log (idx < 0: a new one) and
// returns its index. Called with s.mu held.
func (s *Server) record(log, idx int, rec *Request) int {
	l := &s.logs[log]
	if idx < 0 {
		if m := s.opts.MaxRecords; m > 0 && len(l.recs) >= 2*m {
			n := copy(l.recs, l.recs[len(l.recs)-m:])
			clear(l.recs[n:])
			l.dropped += len(l.recs) - n
			l.recs = l.recs[:n]
		}
		l.recs = append(l.recs, Request{})
		idx = l.dropped + len(l.recs) - 1
	}
	if i := idx - l.dropped; i >= 0 {
		l.recs[i] = copyRequest(rec)
	}
	return idx
}

// randomString returns n characters drawn uniformly from alphabet, from the
// runtime's generator (not the seeded one of FailRandom, so that making ids
// never changes which faults the requests meet).
func randomString(alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rand.IntN(len(alphabet))]
	}
	return string(b)
}

// newUUID returns a random UUID (version 4) in its usual form, as AWS's
// request ids and SQS's message ids are.
func newUUID() string {
	var u [16]byte
	for i := range u {
		u[i] = byte(rand.Uint32())
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	h := hex.EncodeToString(u[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
