package callbacktest

import (
	"cmp"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The SQS operations the fake serves, as Request.Operation and
// Fault.ForOperation name them.
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
	// quickly.
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

// message is one message of the fake queue.
type message struct {
	id, body, md5 string
	sent          time.Time // by Options.Now
	visibleAt     time.Time // real time; the message is visible from then on
	receives      int
	handles       []string // every receipt handle issued, the latest last
	firstReceive  time.Time
	deleted       time.Time
	state         string // MessageDeleted, MessageDeadLettered, or "" while on the queue
	staleDeletes  int
}

// receipt is what a receipt handle names: one receive of one message.
type receipt struct {
	m       *message
	receive int // the message's receive count when the handle was issued
}

// queue is the fake's one SQS queue.
type queue struct {
	opts *Options
	path string // "/ACCOUNT/NAME"
	url  string

	mu       sync.Mutex
	all      []*message // every message sent, in order (see Options.MaxRecords)
	gone     int        // how many of all are deleted or dead-lettered
	first    int        // all[:first] are deleted or dead-lettered
	byHandle map[string]receipt
	changed  chan struct{} // closed and replaced when a message may have become visible
	stats    QueueStats
}

func newQueue(o *Options, base string) *queue {
	q := &o.Queue
	q.Name = cmp.Or(q.Name, "callbacktest")
	if q.VisibilityTimeout <= 0 {
		q.VisibilityTimeout = 30
	}
	q.VisibilityTimeout = min(q.VisibilityTimeout, maxVisibilitySeconds)
	if q.Second <= 0 {
		q.Second = time.Second
	}
	path := "/" + o.AccountID + "/" + q.Name
	return &queue{
		opts: o, path: path, url: base + path,
		byHandle: make(map[string]receipt),
		changed:  make(chan struct{}),
	}
}

// QueueURL returns the URL of the fake queue,
// "http://127.0.0.1:PORT/123456789012/callbacktest", for a ReceiveMessage's
// QueueUrl.
func (s *Server) QueueURL() string { return s.queue.url }

// SendQueueMessage puts a message with body on the fake queue, without a
// request, as SendMessage would, and returns its MessageId. It does not check
// the body. Tests use it to put a message of their own, a malformed one, say.
func (s *Server) SendQueueMessage(body string) (messageID string) {
	id, _ := s.queue.send(body, 0)
	return id
}

// QueueMessages returns copies of every message sent to the fake queue, in
// the order they were sent, deleted ones included (see Options.MaxRecords).
func (s *Server) QueueMessages() []QueueMessage {
	q := s.queue
	q.mu.Lock()
	defer q.mu.Unlock()
	now := time.Now()
	out := make([]QueueMessage, len(q.all))
	for i, m := range q.all {
		out[i] = QueueMessage{
			MessageID: m.id, Body: m.body, State: m.stateAt(now), ReceiveCount: m.receives, StaleDeletes: m.staleDeletes,
			Sent: m.sent, FirstReceive: m.firstReceive, Deleted: m.deleted,
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
	count := map[string]*int{MessageVisible: &st.Visible, MessageDelayed: &st.Delayed, MessageInFlight: &st.InFlight, MessageDeleted: &st.Deleted, MessageDeadLettered: &st.DeadLettered}
	now := time.Now()
	for _, m := range q.all {
		*count[m.stateAt(now)]++
	}
	return st
}

// stateAt returns the message's state at real time now.
func (m *message) stateAt(now time.Time) string {
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
func (q *queue) seconds(n int) time.Duration { return time.Duration(n) * q.opts.Queue.Second }

// broadcast wakes the long polls waiting for a message. Called with q.mu held.
func (q *queue) broadcast() {
	close(q.changed)
	q.changed = make(chan struct{})
}

// send puts a message on the queue and returns its id and the MD5 of its body.
func (q *queue) send(body string, delay int) (id, md5sum string) {
	sum := md5.Sum([]byte(body))
	m := &message{id: newUUID(), body: body, md5: hex.EncodeToString(sum[:]), sent: q.opts.Now()}
	if delay > 0 {
		m.visibleAt = time.Now().Add(q.seconds(delay))
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.all = append(q.all, m)
	q.stats.Sent++
	q.broadcast()
	return m.id, m.md5
}

// remove marks m deleted or dead-lettered, and lets the oldest such messages
// go beyond Options.MaxRecords. Called with q.mu held.
func (q *queue) remove(m *message, state string) {
	m.state = state
	q.gone++
	keep := q.opts.MaxRecords
	if keep <= 0 || q.gone <= 2*keep {
		return
	}
	all := q.all[:0]
	for _, x := range q.all {
		if x.state != "" && q.gone > keep {
			q.gone--
			for _, h := range x.handles {
				delete(q.byHandle, h)
			}
			continue
		}
		all = append(all, x)
	}
	clear(q.all[len(all):])
	q.all, q.first = all, 0
}

// live returns the messages from the first one not deleted or dead-lettered
// on. Called with q.mu held.
func (q *queue) live() []*message {
	for q.first < len(q.all) && q.all[q.first].state != "" {
		q.first++
	}
	return q.all[q.first:]
}

// received is one message handed out by receive.
type received struct {
	m       *message
	handle  string
	receive int
	first   time.Time
}

// receive hands out up to n visible messages, each invisible for vis SQS
// seconds from now with a fresh receipt handle. It also returns when the next
// message becomes visible (zero if none is waiting) and the channel that
// send and visibility changes close.
func (q *queue) receive(n, vis int) (got []received, next time.Time, changed <-chan struct{}) {
	rt, now := time.Now(), q.opts.Now()
	q.mu.Lock()
	defer q.mu.Unlock()
	var dead []*message
	for _, m := range q.live() {
		switch {
		case m.state != "":
		case rt.Before(m.visibleAt):
			if next.IsZero() || m.visibleAt.Before(next) {
				next = m.visibleAt
			}
		case len(got) == n:
		case q.opts.Queue.MaxReceiveCount > 0 && m.receives >= q.opts.Queue.MaxReceiveCount:
			dead = append(dead, m)
		default:
			m.receives++
			if m.receives == 1 {
				m.firstReceive = now
			}
			h := newReceiptHandle()
			m.handles = append(m.handles, h)
			m.visibleAt = rt.Add(q.seconds(vis))
			q.byHandle[h] = receipt{m: m, receive: m.receives}
			got = append(got, received{m: m, handle: h, receive: m.receives, first: m.firstReceive})
		}
	}
	for _, m := range dead {
		q.remove(m, MessageDeadLettered)
	}
	q.stats.Receives += len(got)
	return got, next, q.changed
}

// messageOf returns the id of the message a request is about, for
// Fault.ForMessage: the one its receipt handle names, or for a receive the
// first one it would hand out now.
func (q *queue) messageOf(op string, in *sqsInput) string {
	rt := time.Now()
	q.mu.Lock()
	defer q.mu.Unlock()
	if in.ReceiptHandle != nil {
		if r, ok := q.byHandle[*in.ReceiptHandle]; ok {
			return r.m.id
		}
	}
	for _, m := range q.live() {
		if op == OpReceiveMessage && m.state == "" && !rt.Before(m.visibleAt) {
			return m.id
		}
	}
	return ""
}

// newReceiptHandle returns a fresh receipt handle, in the look of SQS's.
func newReceiptHandle() string {
	var b [48]byte
	for i := range b {
		b[i] = byte(rand.Uint32())
	}
	return "AQEB" + base64.StdEncoding.EncodeToString(b[:])
}

// sqsInput holds the members of the SQS requests the fake reads, from either
// protocol. Numbers are pointers so that an absent member is told from zero.
type sqsInput struct {
	QueueURL                    *string  `json:"QueueUrl"`
	QueueName                   *string  `json:"QueueName"`
	MaxNumberOfMessages         *int     `json:"MaxNumberOfMessages"`
	WaitTimeSeconds             *int     `json:"WaitTimeSeconds"`
	VisibilityTimeout           *int     `json:"VisibilityTimeout"`
	AttributeNames              []string `json:"AttributeNames"`
	MessageSystemAttributeNames []string `json:"MessageSystemAttributeNames"`
	ReceiptHandle               *string  `json:"ReceiptHandle"`
	MessageBody                 *string  `json:"MessageBody"`
	DelaySeconds                *int     `json:"DelaySeconds"`
}

// decodeSQS reads the members of an SQS request: a JSON object, or the form
// of the query protocol (where lists are Name.1, Name.2, ...).
func decodeSQS(p *protocol, body []byte) (in sqsInput, e *apiError) {
	if p == sqsJSON {
		err := json.Unmarshal(body, &in)
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te) && te.Field != "":
			return in, serialization("The value of member " + te.Field + " is a JSON " + te.Value + " and cannot be converted to the member's type")
		case err != nil:
			return in, serialization("Could not parse the request body as a JSON object")
		}
		return in, nil
	}
	form, _ := url.ParseQuery(string(body)) // parsed once already
	str := func(k string) *string {
		if v, ok := form[k]; ok {
			return &v[0]
		}
		return nil
	}
	num := func(k string) *int {
		v := str(k)
		if v == nil {
			return nil
		}
		n, err := strconv.Atoi(*v)
		if err != nil && e == nil {
			e = invalidParameter("Value " + *v + " for parameter " + k + " is invalid. Reason: must be an integer.")
		}
		return &n
	}
	list := func(k string) (out []string) {
		for i := 1; str(k+"."+strconv.Itoa(i)) != nil; i++ {
			out = append(out, *str(k + "." + strconv.Itoa(i)))
		}
		return out
	}
	in = sqsInput{
		QueueURL: str("QueueUrl"), QueueName: str("QueueName"), ReceiptHandle: str("ReceiptHandle"), MessageBody: str("MessageBody"),
		MaxNumberOfMessages: num("MaxNumberOfMessages"), WaitTimeSeconds: num("WaitTimeSeconds"),
		VisibilityTimeout: num("VisibilityTimeout"), DelaySeconds: num("DelaySeconds"),
		AttributeNames: list("AttributeName"), MessageSystemAttributeNames: list("MessageSystemAttributeName"),
	}
	return in, e
}

// The results of the operations, for both protocols.
type (
	messageOut struct {
		MessageID     string            `json:"MessageId" xml:"MessageId"`
		ReceiptHandle string            `json:"ReceiptHandle"`
		MD5OfBody     string            `json:"MD5OfBody"`
		Body          string            `json:"Body"`
		Attributes    map[string]string `json:"Attributes,omitempty" xml:"-"`
		Attribute     []attributeOut    `json:"-" xml:"Attribute"`
	}
	attributeOut struct{ Name, Value string }
	receiveOut   struct {
		Messages []messageOut `json:"Messages,omitempty" xml:"Message"`
	}
	sendOut struct {
		MD5OfMessageBody string
		MessageID        string `json:"MessageId" xml:"MessageId"`
	}
	queueURLOut struct {
		QueueURL string `json:"QueueUrl" xml:"QueueUrl"`
	}
)

func invalidParameter(msg string) *apiError { return badRequest("InvalidParameterValue", msg) }

func missingParameter(name string) *apiError {
	return badRequest("MissingParameter", "The request must contain the parameter "+name+".")
}

// intParam returns the value of an optional integer parameter, checked to be
// within [lo, hi], or def when absent.
func intParam(p *int, name string, def, lo, hi int, reason string) (int, *apiError) {
	if p == nil {
		return def, nil
	}
	if *p < lo || *p > hi {
		return 0, invalidParameter(fmt.Sprintf("Value %d for parameter %s is invalid. Reason: %s", *p, name, reason))
	}
	return *p, nil
}

// sqsOperation runs an SQS operation.
func (s *Server) sqsOperation(r *http.Request, op string, in *sqsInput) answer {
	q := s.queue
	fail := func(e *apiError) answer { return answer{err: e} }
	errNoQueue := &apiError{status: http.StatusBadRequest, code: "QueueDoesNotExist", query: "AWS.SimpleQueueService.NonExistentQueue", msg: "The specified queue does not exist."}
	if op == OpGetQueueURL {
		switch {
		case in.QueueName == nil:
			return fail(missingParameter("QueueName"))
		case *in.QueueName != q.opts.Queue.Name:
			return fail(errNoQueue)
		}
		return answer{out: queueURLOut{QueueURL: q.url}}
	}
	if in.QueueURL == nil && r.URL.Path != "/" {
		in.QueueURL = &r.URL.Path // older SDKs send the query protocol to the queue's URL, without QueueUrl
	}
	if in.QueueURL == nil {
		return fail(missingParameter("QueueUrl"))
	}
	if u, err := url.Parse(*in.QueueURL); err != nil || strings.TrimSuffix(u.Path, "/") != q.path {
		return fail(errNoQueue) // only the path is compared, so localhost and 127.0.0.1 both work
	}
	switch op {
	case OpReceiveMessage:
		return s.receiveMessage(r, in)
	case OpSendMessage:
		return q.sendMessage(in)
	}
	if in.ReceiptHandle == nil {
		return fail(missingParameter("ReceiptHandle"))
	}
	handle := *in.ReceiptHandle
	vis, e := intParam(in.VisibilityTimeout, "VisibilityTimeout", 0, 0, maxVisibilitySeconds, "Must be between 0 and 43200, if provided.")
	if op == OpChangeMessageVisibility && in.VisibilityTimeout == nil {
		e = missingParameter("VisibilityTimeout")
	}
	if e != nil && op == OpChangeMessageVisibility {
		return fail(e)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	h, ok := q.byHandle[handle]
	if !ok {
		return fail(badRequest("ReceiptHandleIsInvalid", `The input receipt handle "`+handle+`" is not a valid receipt handle.`))
	}
	m, latest := h.m, h.receive == h.m.receives
	a := answer{ids: []string{m.id}}
	switch {
	case op == OpDeleteMessage && m.state == "" && !latest:
		m.staleDeletes++
		q.stats.StaleDeletes++
	case op == OpDeleteMessage && m.state == "":
		m.deleted = s.opts.Now()
		q.remove(m, MessageDeleted)
	case op == OpDeleteMessage: // deleted or dead-lettered already: nothing to do
	case m.state != "" || !latest:
		a.err = invalidParameter("Value " + handle + " for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.")
		return a
	case time.Now().Before(m.visibleAt): // in flight: from now on
		m.visibleAt = time.Now().Add(q.seconds(vis))
		q.broadcast() // a shorter timeout may wake a long poll sooner
	}
	if op == OpDeleteMessage {
		q.stats.DeleteCalls++
	} else {
		q.stats.VisibilityChanges++
	}
	return a
}

func (s *Server) receiveMessage(r *http.Request, in *sqsInput) answer {
	q := s.queue
	n, e1 := intParam(in.MaxNumberOfMessages, "MaxNumberOfMessages", 1, 1, 10, "Must be between 1 and 10, if provided.")
	wait, e2 := intParam(in.WaitTimeSeconds, "WaitTimeSeconds", 0, 0, 20, "Must be >= 0 and <= 20, if provided.")
	vis, e3 := intParam(in.VisibilityTimeout, "VisibilityTimeout", q.opts.Queue.VisibilityTimeout, 0, maxVisibilitySeconds, "Must be between 0 and 43200, if provided.")
	if e := cmp.Or(e1, e2, e3); e != nil {
		return answer{err: e}
	}
	names := append(slices.Clone(in.AttributeNames), in.MessageSystemAttributeNames...)
	if slices.Contains(names, "All") {
		names = []string{"ApproximateReceiveCount", "SentTimestamp", "ApproximateFirstReceiveTimestamp", "SenderId"}
	}
	q.mu.Lock()
	q.stats.Polling++
	q.mu.Unlock()
	defer func() {
		q.mu.Lock()
		q.stats.Polling--
		q.mu.Unlock()
	}()

	deadline := time.Now().Add(q.seconds(wait))
	var got []received
	for {
		if r.Context().Err() != nil {
			panic(http.ErrAbortHandler) // the client went away: hand nothing out, answer nothing
		}
		var next time.Time
		var changed <-chan struct{}
		got, next, changed = q.receive(n, vis)
		if len(got) > 0 || !time.Now().Before(deadline) {
			break
		}
		if next.IsZero() || next.After(deadline) {
			next = deadline
		}
		t := time.NewTimer(time.Until(next))
		select {
		case <-changed:
		case <-t.C:
		case <-s.closing:
			deadline = time.Time{} // Close cuts the long poll short with an empty answer
		case <-r.Context().Done(): // checked at the top of the loop
		}
		t.Stop()
	}
	q.mu.Lock()
	q.stats.ReceiveCalls++
	if len(got) == 0 {
		q.stats.EmptyReceives++
	}
	q.mu.Unlock()
	out := receiveOut{Messages: make([]messageOut, len(got))}
	a := answer{out: out}
	for i, g := range got {
		mo := messageOut{MessageID: g.m.id, ReceiptHandle: g.handle, MD5OfBody: g.m.md5, Body: g.m.body}
		attrs := map[string]string{
			"ApproximateReceiveCount":          strconv.Itoa(g.receive),
			"SentTimestamp":                    strconv.FormatInt(g.m.sent.UnixMilli(), 10),
			"ApproximateFirstReceiveTimestamp": strconv.FormatInt(g.first.UnixMilli(), 10),
			"SenderId":                         AccessKeyID,
		}
		for _, name := range names {
			if v, ok := attrs[name]; ok {
				mo.Attribute = append(mo.Attribute, attributeOut{name, v})
			}
		}
		if len(mo.Attribute) > 0 {
			mo.Attributes = make(map[string]string)
			for _, a := range mo.Attribute {
				mo.Attributes[a.Name] = a.Value
			}
		}
		out.Messages[i] = mo
		a.ids = append(a.ids, g.m.id)
	}
	return a
}

func (q *queue) sendMessage(in *sqsInput) answer {
	if in.MessageBody == nil || *in.MessageBody == "" {
		return answer{err: missingParameter("MessageBody")}
	}
	body := *in.MessageBody
	if len(body) > maxMessageBytes {
		return answer{err: invalidParameter(fmt.Sprintf("One or more parameters are invalid. Reason: Message must be shorter than %d bytes.", maxMessageBytes))}
	}
	for _, c := range body {
		if !(c == 0x9 || c == 0xA || c == 0xD || c >= 0x20 && c <= 0xD7FF || c >= 0xE000 && c <= 0xFFFD || c >= 0x10000 && c <= 0x10FFFF) {
			return answer{err: badRequest("InvalidMessageContents", "Invalid binary character '#x"+strconv.FormatInt(int64(c), 16)+"' was found in the message body, the set of allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF")}
		}
	}
	delay, e := intParam(in.DelaySeconds, "DelaySeconds", 0, 0, 900, "DelaySeconds must be >= 0 and <= 900.")
	if e != nil {
		return answer{err: e}
	}
	id, sum := q.send(body, delay)
	return answer{out: sendOut{MD5OfMessageBody: sum, MessageID: id}, ids: []string{id}}
}
