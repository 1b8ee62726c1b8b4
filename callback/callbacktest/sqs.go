package callbacktest

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// The SQS operations the fake serves, as Fault.ForOperation names them (the
// X-Amz-Target form "AmazonSQS.ReceiveMessage" is accepted too).
const (
	OpReceiveMessage          = "ReceiveMessage"
	OpDeleteMessage           = "DeleteMessage"
	OpChangeMessageVisibility = "ChangeMessageVisibility"
	OpSendMessage             = "SendMessage"
	OpGetQueueURL             = "GetQueueUrl"
)

// The states of a message on the fake queue, as QueueMessage.State names them.
const (
	MessageVisible      = "visible"       // can be received now
	MessageDelayed      = "delayed"       // sent with a delay that has not run out
	MessageInFlight     = "in flight"     // received, and its visibility timeout has not run out
	MessageDeleted      = "deleted"       // deleted with its latest receipt handle
	MessageDeadLettered = "dead-lettered" // moved aside after QueueOptions.MaxReceiveCount receives
)

// Limits of SQS that the fake enforces.
const (
	maxVisibilitySeconds = 43200   // 12 hours
	maxWaitSeconds       = 20      // ReceiveMessage's WaitTimeSeconds
	maxDelaySeconds      = 900     // SendMessage's DelaySeconds
	maxBatch             = 10      // ReceiveMessage's MaxNumberOfMessages
	maxMessageBytes      = 1 << 20 // 1 MiB, SQS's limit since August 2025
)

// QueueOptions configures the fake SQS queue of a Server (Options.Queue). The
// zero value of every field has a default.
type QueueOptions struct {
	// Name is the queue's name, the last element of QueueURL. The default is
	// "callbacktest".
	Name string

	// VisibilityTimeout is the queue's default visibility timeout in SQS
	// seconds, used by a ReceiveMessage that sends none. The default is 30,
	// as SQS's.
	VisibilityTimeout int

	// MaxReceiveCount, when more than zero, is the redrive policy's
	// maxReceiveCount: a message received that many times is moved aside
	// (state MessageDeadLettered) the next time it would be received, as
	// SQS moves it to a dead-letter queue. Zero means no redrive policy.
	MaxReceiveCount int

	// Second is the real length of one second of the SQS API: every timeout
	// and wait given in seconds (VisibilityTimeout, WaitTimeSeconds,
	// DelaySeconds) lasts that many Seconds. The default is time.Second. A
	// test sets it to a few milliseconds to see visibility timeouts run out
	// quickly. Visibility and long polls run on real time scaled by Second,
	// whatever Options.Now says.
	Second time.Duration
}

// QueueMessage is a copy of the state of one message of the fake queue, as
// Server.QueueMessages returns it.
type QueueMessage struct {
	MessageID    string    // the MessageId, a UUID
	Body         string    // the body as sent
	State        string    // MessageVisible, MessageDelayed, MessageInFlight, MessageDeleted or MessageDeadLettered
	ReceiveCount int       // how many times it was received (ApproximateReceiveCount, exact here)
	StaleDeletes int       // DeleteMessage calls with one of its receipt handles that was no longer the latest
	Sent         time.Time // when it was sent, by Options.Now
	FirstReceive time.Time // when it was first received, by Options.Now; zero if never
	Deleted      time.Time // when it was deleted, by Options.Now; zero if not
}

// QueueStats counts the messages of the fake queue by state, and the SQS
// calls it answered.
type QueueStats struct {
	Visible, Delayed, InFlight, Deleted, DeadLettered int // messages by state

	Sent              int // messages sent (SendMessage, StartStep, StopExecution)
	Receives          int // messages handed out by ReceiveMessage, redeliveries included
	ReceiveCalls      int // ReceiveMessage calls answered
	EmptyReceives     int // ReceiveMessage calls answered with no message
	DeleteCalls       int // DeleteMessage calls answered 200
	StaleDeletes      int // DeleteMessage calls with a stale receipt handle (answered 200, nothing deleted)
	VisibilityChanges int // ChangeMessageVisibility calls answered 200

	// Polling is how many ReceiveMessage calls are being served now: long
	// polls waiting for a message. A poll whose client went away ends once
	// the fake notices, which on a busy machine may take a moment; until
	// then a message sent may still be handed to it, and lost until its
	// visibility timeout runs out, as with SQS.
	Polling int
}

// sqsMessage is one message of the fake queue.
type sqsMessage struct {
	id, body, md5 string
	sent          time.Time // by Options.Now
	sentMillis    int64
	visibleAt     time.Time // real time; the message is visible from then on
	receives      int
	handle        string // the latest receipt handle, "" before the first receive
	firstReceive  time.Time
	deleted       time.Time
	state         string // MessageDeleted, MessageDeadLettered, or "" while on the queue
	staleDeletes  int
}

// handleRec is what a receipt handle names: one receive of one message.
type handleRec struct {
	m       *sqsMessage
	receive int // the message's receive count when the handle was issued
}

// queue is the fake's one SQS queue.
type queue struct {
	opts   QueueOptions
	path   string // "/ACCOUNT/NAME"
	url    string
	arn    string
	client *sqs.Client

	mu       sync.Mutex
	all      []*sqsMessage // every message sent, in order
	live     []*sqsMessage // the messages not deleted or dead-lettered, in order
	byHandle map[string]handleRec
	changed  chan struct{} // closed and replaced when a message may have become visible
	stats    QueueStats
	steps    map[string]*pipelineStep // by execution ARN, for StopExecution
}

// initSQS sets up the fake queue and its client; NewServer calls it.
func (s *Server) initSQS() {
	o := s.opts.Queue
	if o.Name == "" {
		o.Name = "callbacktest"
	}
	if o.VisibilityTimeout <= 0 {
		o.VisibilityTimeout = 30
	}
	o.VisibilityTimeout = min(o.VisibilityTimeout, maxVisibilitySeconds)
	if o.Second <= 0 {
		o.Second = time.Second
	}
	s.opts.Queue = o
	q := &queue{
		opts:     o,
		path:     "/" + s.opts.AccountID + "/" + o.Name,
		arn:      "arn:" + partition(s.opts.Region) + ":sqs:" + s.opts.Region + ":" + s.opts.AccountID + ":" + o.Name,
		byHandle: make(map[string]handleRec),
		changed:  make(chan struct{}),
		steps:    make(map[string]*pipelineStep),
	}
	q.url = s.url + q.path
	q.client = sqs.New(sqs.Options{
		Region:       s.opts.Region,
		BaseEndpoint: aws.String(s.url),
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
		HTTPClient:   &http.Client{Transport: s.transport},
	})
	s.queue = q
}

// SQSClient returns a real SQS client of the AWS SDK wired to the server, as
// Client does for SageMaker: region Options.Region, BaseEndpoint URL(),
// static credentials, the SDK's default retryer, and the same HTTP transport
// that Close shuts. Every call returns the same client.
func (s *Server) SQSClient() *sqs.Client { return s.queue.client }

// QueueURL returns the URL of the fake queue,
// "http://127.0.0.1:PORT/123456789012/callbacktest", for a ReceiveMessage's
// QueueUrl.
func (s *Server) QueueURL() string { return s.queue.url }

// QueueARN returns the ARN of the fake queue.
func (s *Server) QueueARN() string { return s.queue.arn }

// SendQueueMessage puts a message with body on the fake queue, without a
// request, as SendMessage would, and returns its MessageId. It does not check
// the body. Tests use it to put a message of their own, a malformed one, say.
func (s *Server) SendQueueMessage(body string) (messageID string) {
	id, _ := s.queue.send(body, 0, s.opts.Now())
	return id
}

// QueueMessages returns copies of every message sent to the fake queue, in
// the order they were sent, deleted ones included.
func (s *Server) QueueMessages() []QueueMessage {
	q := s.queue
	q.mu.Lock()
	defer q.mu.Unlock()
	now := time.Now()
	out := make([]QueueMessage, len(q.all))
	for i, m := range q.all {
		out[i] = QueueMessage{
			MessageID:    m.id,
			Body:         m.body,
			State:        m.stateAt(now),
			ReceiveCount: m.receives,
			StaleDeletes: m.staleDeletes,
			Sent:         m.sent,
			FirstReceive: m.firstReceive,
			Deleted:      m.deleted,
		}
	}
	return out
}

// QueueStats returns the counts of the fake queue's messages by state and of
// the SQS calls it answered.
func (s *Server) QueueStats() QueueStats {
	q := s.queue
	q.mu.Lock()
	defer q.mu.Unlock()
	st := q.stats
	now := time.Now()
	for _, m := range q.all {
		switch m.stateAt(now) {
		case MessageVisible:
			st.Visible++
		case MessageDelayed:
			st.Delayed++
		case MessageInFlight:
			st.InFlight++
		case MessageDeleted:
			st.Deleted++
		case MessageDeadLettered:
			st.DeadLettered++
		}
	}
	return st
}

// stateAt returns the message's state at real time now.
func (m *sqsMessage) stateAt(now time.Time) string {
	switch {
	case m.state != "":
		return m.state
	case !now.Before(m.visibleAt):
		return MessageVisible
	case m.receives == 0:
		return MessageDelayed
	}
	return MessageInFlight
}

// seconds returns n SQS seconds in real time.
func (q *queue) seconds(n int) time.Duration { return time.Duration(n) * q.opts.Second }

// broadcast wakes the long polls waiting for a message. Called with q.mu held.
func (q *queue) broadcast() {
	close(q.changed)
	q.changed = make(chan struct{})
}

// send puts a message on the queue and returns its id and the MD5 of its
// body.
func (q *queue) send(body string, delay int, sent time.Time) (id, md5sum string) {
	sum := md5.Sum([]byte(body))
	m := &sqsMessage{
		id:         newUUID(),
		body:       body,
		md5:        hex.EncodeToString(sum[:]),
		sent:       sent,
		sentMillis: sent.UnixMilli(),
	}
	if delay > 0 {
		m.visibleAt = time.Now().Add(q.seconds(delay))
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.all = append(q.all, m)
	q.live = append(q.live, m)
	q.stats.Sent++
	q.broadcast()
	return m.id, m.md5
}

// received is one message handed out by receive.
type received struct {
	m       *sqsMessage
	handle  string
	receive int
	first   time.Time
}

// receive hands out up to n visible messages, each invisible for vis SQS
// seconds from now with a fresh receipt handle. It also returns when the next
// message becomes visible (zero if none is waiting) and the channel that
// send and visibility changes close.
func (q *queue) receive(n, vis int, now time.Time) (got []received, next time.Time, changed <-chan struct{}) {
	rt := time.Now()
	q.mu.Lock()
	defer q.mu.Unlock()
	dead := 0
	for _, m := range q.live {
		if rt.Before(m.visibleAt) {
			if next.IsZero() || m.visibleAt.Before(next) {
				next = m.visibleAt
			}
			continue
		}
		if len(got) == n {
			continue // keep looking for next only among invisible ones
		}
		if q.opts.MaxReceiveCount > 0 && m.receives >= q.opts.MaxReceiveCount {
			m.state = MessageDeadLettered
			dead++
			continue
		}
		m.receives++
		if m.receives == 1 {
			m.firstReceive = now
		}
		m.handle = newReceiptHandle()
		m.visibleAt = rt.Add(q.seconds(vis))
		q.byHandle[m.handle] = handleRec{m: m, receive: m.receives}
		got = append(got, received{m: m, handle: m.handle, receive: m.receives, first: m.firstReceive})
	}
	if dead > 0 {
		q.compact()
	}
	q.stats.Receives += len(got)
	return got, next, q.changed
}

// compact drops deleted and dead-lettered messages from q.live. Called with
// q.mu held.
func (q *queue) compact() {
	live := q.live[:0]
	for _, m := range q.live {
		if m.state == "" {
			live = append(live, m)
		}
	}
	clear(q.live[len(live):])
	q.live = live
}

// The results of a DeleteMessage or ChangeMessageVisibility on a handle.
type handleResult int

const (
	handleOK      handleResult = iota
	handleUnknown              // never issued by this queue: ReceiptHandleIsInvalid
	handleGone                 // stale, or its message deleted: InvalidParameterValue for a visibility change
)

// delete deletes the message of handle if handle is its latest receipt
// handle. A stale handle, or one of a message already deleted, deletes
// nothing and is not an error.
func (q *queue) delete(handle string, now time.Time) handleResult {
	q.mu.Lock()
	defer q.mu.Unlock()
	h, ok := q.byHandle[handle]
	if !ok {
		return handleUnknown
	}
	m := h.m
	switch {
	case m.state != "":
		// deleted or dead-lettered already: nothing to do
	case h.receive != m.receives:
		m.staleDeletes++
		q.stats.StaleDeletes++
	default:
		m.state = MessageDeleted
		m.deleted = now
		q.removeLive(m)
	}
	q.stats.DeleteCalls++
	return handleOK
}

// removeLive removes m from q.live. Called with q.mu held.
func (q *queue) removeLive(m *sqsMessage) {
	for i, x := range q.live {
		if x == m {
			copy(q.live[i:], q.live[i+1:])
			q.live[len(q.live)-1] = nil
			q.live = q.live[:len(q.live)-1]
			return
		}
	}
}

// changeVisibility makes the message of handle invisible for vis SQS seconds
// from now, if handle is its latest receipt handle and it is in flight. On a
// message whose visibility timeout ran out (visible again, not received
// since) it does nothing and is not an error, as SQS.
func (q *queue) changeVisibility(handle string, vis int) handleResult {
	rt := time.Now()
	q.mu.Lock()
	defer q.mu.Unlock()
	h, ok := q.byHandle[handle]
	if !ok {
		return handleUnknown
	}
	m := h.m
	if m.state != "" || h.receive != m.receives {
		return handleGone
	}
	if rt.Before(m.visibleAt) {
		m.visibleAt = rt.Add(q.seconds(vis))
		q.broadcast() // a shorter timeout may wake a long poll sooner
	}
	q.stats.VisibilityChanges++
	return handleOK
}

// newReceiptHandle returns a fresh receipt handle, in the look of SQS's.
func newReceiptHandle() string {
	var b [48]byte
	for i := 0; i < len(b); i += 8 {
		v := rand.Uint64()
		for j := 0; j < 8; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return "AQEB" + base64.StdEncoding.EncodeToString(b[:])
}

// attributes returns the message system attributes of one receive that the
// request asked for (names may hold "All").
func (r received) attributes(names []string) map[string]string {
	if len(names) == 0 {
		return nil
	}
	if slices.Contains(names, "All") {
		names = []string{"ApproximateReceiveCount", "SentTimestamp", "ApproximateFirstReceiveTimestamp", "SenderId"}
	}
	out := make(map[string]string, len(names))
	for _, n := range names {
		switch n {
		case "ApproximateReceiveCount":
			out[n] = strconv.Itoa(r.receive)
		case "SentTimestamp":
			out[n] = strconv.FormatInt(r.m.sentMillis, 10)
		case "ApproximateFirstReceiveTimestamp":
			out[n] = strconv.FormatInt(r.first.UnixMilli(), 10)
		case "SenderId":
			out[n] = AccessKeyID
		}
	}
	return out
}
