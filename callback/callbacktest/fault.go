package callbacktest

import (
	"math"
	"strconv"
	"strings"
	"time"
)

type faultKind uint8

const (
	kindNone faultKind = iota
	kindThrottle
	kindInternal
	kindUnavailable
	kindLimit
	kindReset
	kindDrop
	kindDelay
)

// Fault is a failure the server can make a request meet, given to FailNext or
// FailRandom. Use the values Throttle, InternalError, Unavailable,
// LimitExceeded, ResetBeforeCommit and DropAfterCommit, or Delay(d); aim one
// at an operation, a token or a message with ForOperation, ForToken and
// ForMessage. Faults are
// comparable: Request.Fault == Throttle tells that a request met a throttle
// (the recorded fault carries no aim). The zero Fault is no fault.
type Fault struct {
	kind  faultKind
	delay time.Duration
	op    string // "" matches every SageMaker operation
	token string // "" matches every token
	msg   string // "" matches every message
}

// The faults. Each one that answers is answered without processing the
// request: the step does not change.
var (
	// Throttle answers HTTP 400 ThrottlingException "Rate exceeded" (SQS:
	// RequestThrottled), which the SDK retries with its throttle backoff.
	Throttle = Fault{kind: kindThrottle}

	// InternalError answers HTTP 500 InternalFailure, which the SDK retries.
	InternalError = Fault{kind: kindInternal}

	// Unavailable answers HTTP 503 ServiceUnavailable, which the SDK retries.
	Unavailable = Fault{kind: kindUnavailable}

	// LimitExceeded answers HTTP 400 ResourceLimitExceeded, one of the
	// operations' modeled errors (*types.ResourceLimitExceeded), which the SDK
	// does not retry (SQS: HTTP 403 OverLimit).
	LimitExceeded = Fault{kind: kindLimit}

	// ResetBeforeCommit closes the connection with a TCP reset before the
	// request is processed: no answer, and the step does not change. The SDK
	// sees a connection error and retries.
	ResetBeforeCommit = Fault{kind: kindReset}

	// DropAfterCommit processes the request (a completion is recorded), then
	// closes the connection with no answer: the answer is lost after the
	// commit. A retry with the same ClientRequestToken gets the first answer.
	DropAfterCommit = Fault{kind: kindDrop}
)

// Delay returns a fault that holds the request for d before processing and
// answering it normally. Close, or the client going away (a cancelled
// context, a timeout), cuts the delay short: the connection closes with no
// answer and the request is not processed. A negative d counts as 0.
func Delay(d time.Duration) Fault {
	return Fault{kind: kindDelay, delay: max(d, 0)}
}

// ForOperation returns f aimed at one operation: only requests for op meet
// it. op is the short name, OpFailure, OpReceiveMessage and so on; the
// X-Amz-Target form "SageMaker.SendPipelineExecutionStepFailure" or
// "AmazonSQS.DeleteMessage" is accepted too. A fault reaches the SQS queue only
// when aimed at one of its operations or at a message.
func (f Fault) ForOperation(op string) Fault {
	f.op = strings.TrimPrefix(strings.TrimPrefix(op, sageMakerPrefix), sqsPrefix)
	return f
}

// ForMessage returns f aimed at one message of a fake queue, by its
// MessageId: only SQS requests about it meet it, that is DeleteMessage and
// ChangeMessageVisibility with one of its receipt handles (their batch forms
// with it in their first entry), and a ReceiveMessage arriving when it is
// the first message to be handed out.
// With ForOperation, one of these only. Delay(time.Hour).ForMessage(id) makes
// the calls about one message hang (until the client gives up, or Close).
func (f Fault) ForMessage(messageID string) Fault {
	f.msg = messageID
	return f
}

// ForToken returns f aimed at one callback token: only requests whose
// CallbackToken member is token meet it.
func (f Fault) ForToken(token string) Fault {
	f.token = token
	return f
}

// String returns the fault's name, as "Throttle" or "Delay(1.5s)", with its
// aim, as in "Throttle.ForOperation(SendPipelineExecutionStepFailure)". The
// aim's token is shown by its first two characters only. The zero Fault is
// "none".
func (f Fault) String() string {
	var b strings.Builder
	switch names := []string{"none", "Throttle", "InternalError", "Unavailable", "LimitExceeded", "ResetBeforeCommit", "DropAfterCommit"}; {
	case f.kind == kindDelay:
		b.WriteString("Delay(" + f.delay.String() + ")")
	case int(f.kind) < len(names):
		b.WriteString(names[f.kind])
	default:
		b.WriteString("Fault(" + strconv.Itoa(int(f.kind)) + ")")
	}
	if f.op != "" {
		b.WriteString(".ForOperation(" + f.op + ")")
	}
	if f.token != "" {
		b.WriteString(".ForToken(" + redact(f.token) + ")")
	}
	if f.msg != "" {
		b.WriteString(".ForMessage(" + f.msg + ")")
	}
	return b.String()
}

// redact shows the first two characters of a token, never more.
func redact(token string) string {
	if len(token) <= 2 {
		return "…"
	}
	return token[:2] + "…"
}

// matches reports whether a request for op, about token or message msg,
// meets f.
func (f Fault) matches(op, token, msg string) bool {
	if f.op == "" && f.msg == "" && op != OpFailure && op != OpSuccess {
		return false // an unaimed fault is for SageMaker only
	}
	return (f.op == "" || f.op == op) && (f.token == "" || f.token == token) && (f.msg == "" || f.msg == msg)
}

// bare returns f without its aim, as Request.Fault records it.
func (f Fault) bare() Fault { return Fault{kind: f.kind, delay: f.delay} }

// faultRule is one FailNext (left > 0) or FailRandom (p > 0) fault.
type faultRule struct {
	f    Fault
	left int
	p    float64
}

// FailNext makes the next n requests that f matches meet f (a fault with no
// aim matches every SageMaker request, and no SQS request). It counts HTTP
// requests (attempts, including the SDK's retries), not SDK calls. Faults
// queue: several FailNext calls are served in the order they were made, a
// request meeting the first queued fault that matches it. Requests refused
// before the faults are considered (malformed, unsigned, unknown operation,
// or over the RateLimit) do not use them up. n <= 0 or a zero f does nothing.
func (s *Server) FailNext(n int, f Fault) {
	if n <= 0 || f.kind == kindNone {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next = append(s.next, &faultRule{f: f, left: n})
}

// FailRandom makes each request that f matches meet f with probability p, as
// drawn from a generator seeded with Options.Seed: the same seed and the same
// order of requests meet the same faults. Queued FailNext faults come first;
// several FailRandom faults are tried in the order they were added, the first
// drawn wins. A p below 0 (or NaN) is taken as 0, above 1 as 1.
func (s *Server) FailRandom(p float64, f Fault) {
	if !(p > 0) || f.kind == kindNone { // NaN too
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.random = append(s.random, faultRule{f: f, p: min(p, 1)})
}

// ClearFaults removes every fault given to FailNext and FailRandom.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next = nil
	s.random = nil
}

// pickFault returns the fault a request meets, or the zero Fault. It is
// called with s.mu held.
func (s *Server) pickFault(op, token, msg string) Fault {
	for i, q := range s.next {
		if !q.f.matches(op, token, msg) {
			continue
		}
		q.left--
		if q.left == 0 {
			s.next = append(s.next[:i:i], s.next[i+1:]...)
		}
		return q.f
	}
	for _, rf := range s.random {
		if rf.f.matches(op, token, msg) && s.rng.Float64() < rf.p {
			return rf.f
		}
	}
	return Fault{}
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
