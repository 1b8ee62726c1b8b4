package callbacktest

import (
	"cmp"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// This file holds the state of the fake's SQS queues, apart from the wire
// code (sqs.go): the queues by name, their attributes, and their messages.

// The SQS operations the fake serves, as Request.Operation and
// Fault.ForOperation name them. The other operations it serves (CreateQueue,
// DeleteQueue, ListQueues, GetQueueAttributes, SetQueueAttributes,
// PurgeQueue, SendMessageBatch, DeleteMessageBatch and
// ChangeMessageVisibilityBatch) are named by their names.
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
	MessageDeleted      = "deleted"       // deleted with its latest receipt handle, purged, or past its retention period
	MessageDeadLettered = "dead-lettered" // moved to the dead-letter queue of the queue's redrive policy
)

// Limits and defaults of SQS that the fake follows.
const (
	maxVisibilitySeconds = 43200   // 12 hours
	maxMessageBytes      = 1 << 20 // 1 MiB, SQS's limit since August 2025
	defaultRetention     = 345600  // 4 days
	maxRetention         = 1209600 // 14 days
	purgeSeconds         = 60      // a queue may be purged once a minute
	recreateSeconds      = 60      // a deleted queue's name is free again after a minute
)

// QueueOptions configures the fake SQS queue of a Server (Options.Queue), the
// one QueueURL names. The zero value of every field has a default. The queues
// that CreateQueue makes take their attributes from the request.
type QueueOptions struct {
	// Name is the queue's name, the last element of QueueURL. The default is
	// "callbacktest".
	Name string

	// VisibilityTimeout is the queue's default visibility timeout in SQS
	// seconds (its VisibilityTimeout attribute), used by a ReceiveMessage that
	// sends none. The default is 30, as SQS's.
	VisibilityTimeout int

	// MaxReceiveCount, when more than zero, gives the queue a redrive policy
	// with that maxReceiveCount, to a dead-letter queue the fake creates
	// beside it, named Name + "-dlq" (URL QueueURL() + "-dlq"): a message
	// received that many times is moved there (and shows as
	// MessageDeadLettered here) the next time it would be received, as SQS
	// moves it. Zero means no redrive policy; SetQueueAttributes may set one.
	MaxReceiveCount int

	// Second is the real length of one second of the SQS API: every timeout,
	// wait and period given in seconds (VisibilityTimeout, WaitTimeSeconds,
	// DelaySeconds, MessageRetentionPeriod) lasts that many Seconds, on every
	// queue of the server. The default is time.Second. A test sets it to a
	// few milliseconds to see visibility timeouts run out quickly.
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

	Sent              int // messages sent (SendMessage, SendMessageBatch, StartStep, StopExecution)
	Receives          int // messages handed out by ReceiveMessage, redeliveries included
	ReceiveCalls      int // ReceiveMessage calls answered
	EmptyReceives     int // ReceiveMessage calls answered with no message
	DeleteCalls       int // DeleteMessage calls and DeleteMessageBatch entries answered as done
	StaleDeletes      int // DeleteMessage calls and entries with a stale receipt handle (answered as done, nothing deleted)
	VisibilityChanges int // ChangeMessageVisibility calls and batch entries answered as done

	// Polling is how many ReceiveMessage calls are being served now: long
	// polls waiting for a message. A poll whose client went away ends once
	// the fake notices, which on a busy machine may take a moment; until
	// then a message sent may still be handed to it, and lost until its
	// visibility timeout runs out, as with SQS.
	Polling int
}

// messageAttr is one message attribute (MessageAttributes) of a message.
type messageAttr struct {
	name, dataType string
	str            string // StringValue, for String and Number types
	bin            []byte // BinaryValue, for Binary types
}

// binary reports whether the attribute's type is Binary (or Binary.custom).
func (a *messageAttr) binary() bool { return baseType(a.dataType) == "Binary" }

// baseType returns the type of a DataType without its custom suffix:
// "Number.int" is "Number".
func baseType(dataType string) string {
	t, _, _ := strings.Cut(dataType, ".")
	return t
}

// md5OfAttrs returns the MD5OfMessageAttributes of attrs, sorted by name as
// a message keeps them, as SQS computes it: for each attribute in that
// order, the name, the data type (each as a 4-byte big-endian length and its
// bytes), one byte (1 for String and Number, 2 for Binary) and the value
// (length and bytes). "" for none.
func md5OfAttrs(attrs []messageAttr) string {
	if len(attrs) == 0 {
		return ""
	}
	h := md5.New()
	field := func(b []byte) {
		_ = binary.Write(h, binary.BigEndian, uint32(len(b)))
		h.Write(b)
	}
	for _, a := range attrs {
		field([]byte(a.name))
		field([]byte(a.dataType))
		if a.binary() {
			h.Write([]byte{2})
			field(a.bin)
		} else {
			h.Write([]byte{1})
			field([]byte(a.str))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// message is one message of a fake queue.
type message struct {
	id, body, md5 string
	attrs         []messageAttr // sorted by name
	md5Attrs      string
	sent          time.Time // by Options.Now
	sentRT        time.Time // real time, for the retention period
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

// redrivePolicy is a queue's RedrivePolicy attribute.
type redrivePolicy struct {
	deadLetterARN string
	maxReceives   int
}

// queueAttrs are the attributes of a queue that CreateQueue and
// SetQueueAttributes set.
type queueAttrs struct {
	visibility, retention, delay, wait, maxSize int
	redrive                                     *redrivePolicy
	other                                       map[string]string // kept and returned, of no effect (Policy, ...)
}

func defaultAttrs() queueAttrs {
	return queueAttrs{visibility: 30, retention: defaultRetention, maxSize: maxMessageBytes}
}

// queue is one SQS queue of the fake.
type queue struct {
	opts *Options
	set  *queueSet
	name string
	path string // "/ACCOUNT/NAME"
	url  string
	arn  string

	mu        sync.Mutex
	attrs     queueAttrs
	created   time.Time  // by Options.Now
	modified  time.Time  // by Options.Now
	all       []*message // every message sent, in order (see Options.MaxRecords)
	gone      int        // how many of all are deleted or dead-lettered
	first     int        // all[:first] are deleted or dead-lettered
	byHandle  map[string]receipt
	changed   chan struct{} // closed and replaced when a message may have become visible
	stats     QueueStats
	lastPurge time.Time // real time of the last PurgeQueue
}

// queueSet is the fake's queues, by name.
type queueSet struct {
	opts *Options
	base string // the server's URL

	mu      sync.Mutex
	byName  map[string]*queue
	deleted map[string]time.Time // real time of each name's DeleteQueue
}

// newQueues makes the server's queues: the default one of Options.Queue, and
// its dead-letter queue when QueueOptions.MaxReceiveCount asks for one.
func newQueues(o *Options, base string) (*queueSet, *queue) {
	qo := &o.Queue
	qo.Name = cmp.Or(qo.Name, "callbacktest")
	if qo.VisibilityTimeout <= 0 {
		qo.VisibilityTimeout = 30
	}
	qo.VisibilityTimeout = min(qo.VisibilityTimeout, maxVisibilitySeconds)
	if qo.Second <= 0 {
		qo.Second = time.Second
	}
	set := &queueSet{opts: o, base: base, byName: make(map[string]*queue), deleted: make(map[string]time.Time)}
	attrs := defaultAttrs()
	attrs.visibility = qo.VisibilityTimeout
	if qo.MaxReceiveCount > 0 {
		dlq, _ := set.create(qo.Name+"-dlq", defaultAttrs())
		attrs.redrive = &redrivePolicy{deadLetterARN: dlq.arn, maxReceives: qo.MaxReceiveCount}
	}
	q, _ := set.create(qo.Name, attrs)
	return set, q
}

// create adds a queue and reports true, or returns the queue of that name
// and false.
func (set *queueSet) create(name string, attrs queueAttrs) (*queue, bool) {
	path := "/" + set.opts.AccountID + "/" + name
	now := set.opts.Now()
	q := &queue{
		opts: set.opts, set: set, name: name, path: path, url: set.base + path,
		arn:   "arn:" + partition(set.opts.Region) + ":sqs:" + set.opts.Region + ":" + set.opts.AccountID + ":" + name,
		attrs: attrs, created: now, modified: now,
		byHandle: make(map[string]receipt),
		changed:  make(chan struct{}),
	}
	set.mu.Lock()
	defer set.mu.Unlock()
	if other, ok := set.byName[name]; ok {
		return other, false
	}
	set.byName[name] = q
	return q, true
}

// byURL returns the queue a QueueUrl names, matched by its path only (so
// that localhost and 127.0.0.1 both work).
func (set *queueSet) byURL(u string) (*queue, bool) {
	pu, err := url.Parse(u)
	if err != nil {
		return nil, false
	}
	account, name, ok := strings.Cut(strings.Trim(pu.Path, "/"), "/")
	if !ok || account != set.opts.AccountID {
		return nil, false
	}
	set.mu.Lock()
	defer set.mu.Unlock()
	q, ok := set.byName[name]
	return q, ok
}

// byARN returns the queue of an SQS ARN of the server's partition, region
// and account.
func (set *queueSet) byARN(arn string) (*queue, bool) {
	prefix := "arn:" + partition(set.opts.Region) + ":sqs:" + set.opts.Region + ":" + set.opts.AccountID + ":"
	name, ok := strings.CutPrefix(arn, prefix)
	if !ok {
		return nil, false
	}
	set.mu.Lock()
	defer set.mu.Unlock()
	q, ok := set.byName[name]
	return q, ok
}

// queueByURL returns the queue of the server that a QueueUrl names, matched
// by its path only, as SQS requests name it.
func (s *Server) queueByURL(u string) (*queue, bool) { return s.queues.byURL(u) }

// QueueURL returns the URL of the fake queue,
// "http://127.0.0.1:PORT/123456789012/callbacktest", for a ReceiveMessage's
// QueueUrl.
func (s *Server) QueueURL() string { return s.queue.url }

// SendQueueMessage puts a message with body on the fake queue, without a
// request, as SendMessage would, and returns its MessageId. It does not check
// the body. Tests use it to put a message of their own, a malformed one, say.
func (s *Server) SendQueueMessage(body string) (messageID string) {
	return s.queue.send(body, 0, nil).id
}

// QueueMessages returns copies of every message sent to the fake queue (the
// one QueueURL names), in the order they were sent, deleted ones included
// (see Options.MaxRecords).
func (s *Server) QueueMessages() []QueueMessage {
	q := s.queue
	now := time.Now()
	q.mu.Lock()
	defer q.mu.Unlock()
	q.expire(now)
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
	now := time.Now()
	q.mu.Lock()
	defer q.mu.Unlock()
	q.expire(now)
	st := q.stats
	count := map[string]*int{MessageVisible: &st.Visible, MessageDelayed: &st.Delayed, MessageInFlight: &st.InFlight, MessageDeleted: &st.Deleted, MessageDeadLettered: &st.DeadLettered}
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

// send puts a message with message attributes (none: nil) on the queue,
// delayed by delay SQS seconds, and returns it. The caller checked them.
func (q *queue) send(body string, delay int, attrs []messageAttr) *message {
	sum := md5.Sum([]byte(body))
	attrs = slices.Clone(attrs)
	slices.SortFunc(attrs, func(a, b messageAttr) int { return strings.Compare(a.name, b.name) })
	m := &message{id: newUUID(), body: body, md5: hex.EncodeToString(sum[:]), attrs: attrs, md5Attrs: md5OfAttrs(attrs), sent: q.opts.Now(), sentRT: time.Now()}
	if delay > 0 {
		m.visibleAt = m.sentRT.Add(q.seconds(delay))
	}
	q.put(m)
	return m
}

// put adds m to the queue.
func (q *queue) put(m *message) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.all = append(q.all, m)
	q.stats.Sent++
	q.broadcast()
}

// remove marks m deleted or dead-lettered. Called with q.mu held; trim must
// follow, once the caller is done with q.all.
func (q *queue) remove(m *message, state string) {
	m.state = state
	q.gone++
}

// trim lets the oldest messages deleted or dead-lettered go beyond
// Options.MaxRecords. Called with q.mu held.
func (q *queue) trim() {
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

// expire deletes the messages whose retention period ran out by real time
// rt. Called with q.mu held.
func (q *queue) expire(rt time.Time) {
	period := q.seconds(q.attrs.retention)
	for _, m := range q.live() {
		if m.state == "" && !rt.Before(m.sentRT.Add(period)) {
			m.deleted = q.opts.Now()
			q.remove(m, MessageDeleted)
		}
	}
	q.trim()
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
// send and visibility changes close. Messages received maxReceiveCount
// times already are moved to the dead-letter queue of the redrive policy.
func (q *queue) receive(n, vis int) (got []received, next time.Time, changed <-chan struct{}) {
	rt, now := time.Now(), q.opts.Now()
	q.mu.Lock()
	q.expire(rt)
	var dead []*message
	var dlq *queue
	if rp := q.attrs.redrive; rp != nil {
		dlq, _ = q.set.byARN(rp.deadLetterARN) // a dead-letter queue deleted since: no redrive
	}
	for _, m := range q.live() {
		switch {
		case m.state != "":
		case rt.Before(m.visibleAt):
			if next.IsZero() || m.visibleAt.Before(next) {
				next = m.visibleAt
			}
		case len(got) == n:
		case dlq != nil && dlq != q && m.receives >= q.attrs.redrive.maxReceives:
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
	moved := make([]*message, len(dead))
	for i, m := range dead {
		q.remove(m, MessageDeadLettered)
		// The dead-letter queue's copy keeps the id, body, attributes and
		// SentTimestamp (and so the retention period's start), as SQS's.
		moved[i] = &message{id: m.id, body: m.body, md5: m.md5, attrs: m.attrs, md5Attrs: m.md5Attrs, sent: m.sent, sentRT: m.sentRT}
	}
	q.trim()
	q.stats.Receives += len(got)
	changed = q.changed
	q.mu.Unlock()
	for _, m := range moved { // not holding q.mu: two queues may redrive to each other
		dlq.put(m)
	}
	return got, next, changed
}

// deleteMessage deletes the message of a receipt handle, as DeleteMessage:
// a stale handle deletes nothing. It returns the message's id, or
// errBadHandle.
func (q *queue) deleteMessage(handle string) (string, *apiError) {
	q.mu.Lock()
	defer q.mu.Unlock()
	h, ok := q.byHandle[handle]
	if !ok {
		return "", errBadHandle(handle)
	}
	m := h.m
	switch {
	case m.state == "" && h.receive != m.receives:
		m.staleDeletes++
		q.stats.StaleDeletes++
	case m.state == "":
		m.deleted = q.opts.Now()
		q.remove(m, MessageDeleted)
		q.trim()
	}
	// Deleted, dead-lettered or expired already: nothing to do.
	q.stats.DeleteCalls++
	return m.id, nil
}

// changeVisibility sets the visibility timeout of the message of a receipt
// handle to vis SQS seconds from now, as ChangeMessageVisibility.
func (q *queue) changeVisibility(handle string, vis int) (string, *apiError) {
	q.mu.Lock()
	defer q.mu.Unlock()
	h, ok := q.byHandle[handle]
	if !ok {
		return "", errBadHandle(handle)
	}
	m := h.m
	if m.state != "" || h.receive != m.receives {
		return m.id, invalidParameter("Value " + handle + " for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.")
	}
	if rt := time.Now(); rt.Before(m.visibleAt) { // in flight: from now on; visible again: nothing to do
		m.visibleAt = rt.Add(q.seconds(vis))
		q.broadcast() // a shorter timeout may wake a long poll sooner
	}
	q.stats.VisibilityChanges++
	return m.id, nil
}

// purge deletes every message of the queue, as PurgeQueue: at most once a
// minute (in SQS seconds).
func (q *queue) purge() *apiError {
	rt := time.Now()
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.lastPurge.IsZero() && rt.Before(q.lastPurge.Add(q.seconds(purgeSeconds))) {
		return &apiError{status: 403, code: "PurgeQueueInProgress", query: "AWS.SimpleQueueService.PurgeQueueInProgress",
			msg: "Only one PurgeQueue operation on " + q.name + " is allowed every 60 seconds."}
	}
	q.lastPurge = rt
	now := q.opts.Now()
	for _, m := range q.live() {
		if m.state == "" {
			m.deleted = now
			q.remove(m, MessageDeleted)
		}
	}
	q.trim()
	q.broadcast()
	return nil
}

// counts returns how many messages are visible, in flight and delayed.
func (q *queue) counts() (visible, inFlight, delayed int) {
	rt := time.Now()
	q.mu.Lock()
	defer q.mu.Unlock()
	q.expire(rt)
	for _, m := range q.live() {
		switch m.stateAt(rt) {
		case MessageVisible:
			visible++
		case MessageInFlight:
			inFlight++
		case MessageDelayed:
			delayed++
		}
	}
	return visible, inFlight, delayed
}

// messageOf returns the id of the message a request is about, for
// Fault.ForMessage: the one its receipt handle names, or for a receive the
// first one it would hand out now.
func (q *queue) messageOf(op, handle string) string {
	rt := time.Now()
	q.mu.Lock()
	defer q.mu.Unlock()
	if r, ok := q.byHandle[handle]; ok {
		return r.m.id
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

// partition returns the ARN partition of a region.
func partition(region string) string {
	for prefix, p := range map[string]string{"cn-": "aws-cn", "us-gov-": "aws-us-gov", "us-iso-": "aws-iso", "us-isob-": "aws-iso-b"} {
		if strings.HasPrefix(region, prefix) {
			return p
		}
	}
	return "aws"
}
