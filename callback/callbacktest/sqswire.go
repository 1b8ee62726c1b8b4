package callbacktest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

const (
	sqsTargetPrefix = "AmazonSQS."
	sqsContentType  = "application/x-amz-json-1.0"
	sqsTypePrefix   = "com.amazonaws.sqs#"
)

// dispatch sends a request of the SQS JSON protocol (an X-Amz-Target of
// AmazonSQS.* with the Content-Type application/x-amz-json-1.0) to the fake
// queue, and every other request to the fake SageMaker.
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.Header.Get("X-Amz-Target"), sqsTargetPrefix) {
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == sqsContentType {
			s.serveSQS(w, r)
			return
		}
	}
	s.serveHTTP(w, r)
}

// sqsError is an SQS error answer: the HTTP status, the code of the
// x-amzn-query-error header (the AWS query protocol's code, which the SDK
// reports), the shape name of the body's __type, and the message.
type sqsError struct {
	status          int
	queryCode, name string
	msg             string
	sender          bool // the fault of the query error: Sender (client) or Receiver (server)
}

func senderError(status int, queryCode, name, msg string) *sqsError {
	return &sqsError{status: status, queryCode: queryCode, name: name, msg: msg, sender: true}
}

func invalidParameter(msg string) *sqsError {
	return senderError(http.StatusBadRequest, "InvalidParameterValue", "InvalidParameterValue", msg)
}

func missingParameter(name string) *sqsError {
	return senderError(http.StatusBadRequest, "MissingParameter", "MissingParameter",
		"The request must contain the parameter "+name+".")
}

var errNoQueue = senderError(http.StatusBadRequest, "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist",
	"The specified queue does not exist.")

// serveSQS serves one SQS request.
func (s *Server) serveSQS(w http.ResponseWriter, r *http.Request) {
	if !s.enter() {
		closeConn(w, false)
		return
	}
	defer s.inflight.Done()
	requestID := newUUID()
	out, e, drop := s.safeHandleSQS(w, r)
	switch {
	case drop != 0:
		closeConn(w, drop == dropReset)
	case e != nil:
		writeSQSError(w, requestID, e)
	default:
		writeSQS(w, requestID, http.StatusOK, out)
	}
}

const (
	dropClose = 1
	dropReset = 2
)

func (s *Server) safeHandleSQS(w http.ResponseWriter, r *http.Request) (out any, e *sqsError, drop int) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				out, e, drop = nil, nil, dropClose
				return
			}
			out, e, drop = nil, &sqsError{status: http.StatusInternalServerError, queryCode: "InternalFailure", name: "InternalFailure", msg: msgInternal}, 0
		}
	}()
	return s.handleSQS(w, r)
}

// handleSQS works out the answer to an SQS request: the checks of the wire
// and the signature, then the fake's faults, then the operation.
func (s *Server) handleSQS(w http.ResponseWriter, r *http.Request) (any, *sqsError, int) {
	if r.Method != http.MethodPost {
		return nil, senderError(http.StatusForbidden, "AccessDenied", "AccessDeniedException", "Unable to determine service/operation name to be authorized"), 0
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, senderError(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "RequestEntityTooLargeException", "Request is too large."), 0
		}
		return nil, nil, dropClose
	}
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), sqsTargetPrefix)
	if !utf8.Valid(body) || kindOf(body) != '{' || !json.Valid(body) {
		return nil, senderError(http.StatusBadRequest, "SerializationException", "SerializationException", "Could not parse the request body as a JSON object"), 0
	}
	switch op {
	case OpReceiveMessage, OpDeleteMessage, OpChangeMessageVisibility, OpSendMessage, OpGetQueueURL:
	default:
		return nil, senderError(http.StatusBadRequest, "InvalidAction", "UnknownOperationException", "Unknown operation "+strconv.Quote(r.Header.Get("X-Amz-Target"))), 0
	}
	if msg := checkScope(r, "sqs"); msg != "" {
		return nil, senderError(http.StatusBadRequest, "IncompleteSignature", "IncompleteSignatureException", msg), 0
	}

	s.mu.Lock()
	f := s.pickSQSFault(op)
	s.mu.Unlock()
	switch f.kind {
	case kindThrottle:
		return nil, senderError(http.StatusBadRequest, "RequestThrottled", "RequestThrottled", "Rate exceeded"), 0
	case kindInternal:
		return nil, &sqsError{status: http.StatusInternalServerError, queryCode: "InternalFailure", name: "InternalFailure", msg: msgInternal}, 0
	case kindUnavailable:
		return nil, &sqsError{status: http.StatusServiceUnavailable, queryCode: "ServiceUnavailable", name: "ServiceUnavailable", msg: "Service is unavailable. Please try again later."}, 0
	case kindLimit:
		return nil, senderError(http.StatusForbidden, "OverLimit", "OverLimit", "The maximum number of in flight messages is reached."), 0
	case kindReset:
		return nil, nil, dropReset
	case kindDelay:
		if !s.wait(r, f.delay) {
			return nil, nil, dropClose
		}
	}

	out, e := s.sqsOperation(r, op, body)
	if f.kind == kindDrop && e == nil {
		return nil, nil, dropClose
	}
	return out, e, 0
}

// pickSQSFault returns the fault an SQS request meets: only faults aimed at
// an SQS operation with ForOperation apply, so that faults meant for the
// SageMaker operations keep their counts. Called with s.mu held.
func (s *Server) pickSQSFault(op string) Fault {
	aimed := func(f Fault) bool { return f.op == op || f.op == sqsTargetPrefix+op }
	for i, q := range s.next {
		if !aimed(q.f) {
			continue
		}
		q.left--
		if q.left == 0 {
			s.next = append(s.next[:i:i], s.next[i+1:]...)
		}
		return q.f
	}
	for _, rf := range s.random {
		if aimed(rf.f) && s.rng.Float64() < rf.p {
			return rf.f
		}
	}
	return Fault{}
}

// checkScope checks that a request carries a SigV4 Authorization header with
// a credential scoped to service. It returns AWS's message when it does not,
// "" when it does. The signature is not verified.
func checkScope(r *http.Request, service string) string {
	auth := strings.TrimSpace(r.Header.Get("Authorization"))
	alg, rest, _ := strings.Cut(auth, " ")
	if alg != "AWS4-HMAC-SHA256" {
		return "Missing or unsupported Authorization header: want AWS4-HMAC-SHA256"
	}
	for _, kv := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		if k != "Credential" {
			continue
		}
		parts := strings.Split(v, "/")
		if len(parts) == 5 && parts[3] == service && parts[4] == "aws4_request" {
			return ""
		}
		return "Credential should be scoped to correct service: '" + service + "'. "
	}
	return "Authorization header requires 'Credential' parameter. "
}

// The members of the SQS requests the fake reads. Numbers are pointers so
// that an absent member is told from zero.
type sqsRequest struct {
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

// The answers of the operations.
type (
	sqsMessageOut struct {
		MessageID     string            `json:"MessageId"`
		ReceiptHandle string            `json:"ReceiptHandle"`
		MD5OfBody     string            `json:"MD5OfBody"`
		Body          string            `json:"Body"`
		Attributes    map[string]string `json:"Attributes,omitempty"`
	}
	receiveOut struct {
		Messages []sqsMessageOut `json:"Messages,omitempty"`
	}
	sendOut struct {
		MD5OfMessageBody string `json:"MD5OfMessageBody"`
		MessageID        string `json:"MessageId"`
	}
	queueURLOut struct {
		QueueURL string `json:"QueueUrl"`
	}
	emptyOut struct{}
)

// sqsOperation decodes the members and runs the operation.
func (s *Server) sqsOperation(r *http.Request, op string, body []byte) (any, *sqsError) {
	var in sqsRequest
	if err := json.Unmarshal(body, &in); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, senderError(http.StatusBadRequest, "SerializationException", "SerializationException",
				"The value of member "+te.Field+" is a JSON "+te.Value+" and cannot be converted to the member's type")
		}
		return nil, senderError(http.StatusBadRequest, "SerializationException", "SerializationException", "Could not parse the request body as JSON")
	}
	q := s.queue
	if op == OpGetQueueURL {
		if in.QueueName == nil {
			return nil, missingParameter("QueueName")
		}
		if *in.QueueName != q.opts.Name {
			return nil, errNoQueue
		}
		return queueURLOut{QueueURL: q.url}, nil
	}
	if in.QueueURL == nil {
		return nil, missingParameter("QueueUrl")
	}
	if !q.matches(*in.QueueURL) {
		return nil, errNoQueue
	}
	switch op {
	case OpReceiveMessage:
		return s.receiveMessage(r, &in)
	case OpSendMessage:
		return s.sendMessage(&in)
	case OpDeleteMessage:
		if in.ReceiptHandle == nil {
			return nil, missingParameter("ReceiptHandle")
		}
		if q.delete(*in.ReceiptHandle, s.opts.Now()) == handleUnknown {
			return nil, invalidHandle(*in.ReceiptHandle)
		}
		return emptyOut{}, nil
	default: // OpChangeMessageVisibility
		if in.ReceiptHandle == nil {
			return nil, missingParameter("ReceiptHandle")
		}
		if in.VisibilityTimeout == nil {
			return nil, missingParameter("VisibilityTimeout")
		}
		vis := *in.VisibilityTimeout
		if vis < 0 || vis > maxVisibilitySeconds {
			return nil, invalidParameter(fmt.Sprintf("Value %d for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200, if provided.", vis))
		}
		switch q.changeVisibility(*in.ReceiptHandle, vis) {
		case handleUnknown:
			return nil, invalidHandle(*in.ReceiptHandle)
		case handleGone:
			return nil, invalidParameter("Value " + *in.ReceiptHandle + " for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.")
		}
		return emptyOut{}, nil
	}
}

func invalidHandle(h string) *sqsError {
	return senderError(http.StatusBadRequest, "ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid",
		`The input receipt handle "`+h+`" is not a valid receipt handle.`)
}

// matches reports whether a QueueUrl names the queue. Only the path is
// compared (/ACCOUNT/NAME), so that localhost and 127.0.0.1 both work.
func (q *queue) matches(queueURL string) bool {
	u, err := url.Parse(queueURL)
	return err == nil && strings.TrimSuffix(u.Path, "/") == q.path
}

func (s *Server) receiveMessage(r *http.Request, in *sqsRequest) (any, *sqsError) {
	q := s.queue
	n := 1
	if in.MaxNumberOfMessages != nil {
		n = *in.MaxNumberOfMessages
		if n < 1 || n > maxBatch {
			return nil, invalidParameter(fmt.Sprintf("Value %d for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.", n))
		}
	}
	wait := 0
	if in.WaitTimeSeconds != nil {
		wait = *in.WaitTimeSeconds
		if wait < 0 || wait > maxWaitSeconds {
			return nil, invalidParameter(fmt.Sprintf("Value %d for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.", wait))
		}
	}
	vis := q.opts.VisibilityTimeout
	if in.VisibilityTimeout != nil {
		vis = *in.VisibilityTimeout
		if vis < 0 || vis > maxVisibilitySeconds {
			return nil, invalidParameter(fmt.Sprintf("Value %d for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200, if provided.", vis))
		}
	}
	names := append(append([]string(nil), in.AttributeNames...), in.MessageSystemAttributeNames...)

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
			// The client went away: hand nothing out, answer nothing.
			panic(http.ErrAbortHandler)
		}
		var next time.Time
		var changed <-chan struct{}
		got, next, changed = q.receive(n, vis, s.opts.Now())
		if len(got) > 0 || !time.Now().Before(deadline) {
			break
		}
		wake := deadline
		if !next.IsZero() && next.Before(wake) {
			wake = next
		}
		t := time.NewTimer(time.Until(wake))
		select {
		case <-changed:
		case <-t.C:
		case <-s.closing:
			// Close cuts the long poll short with an empty answer.
			deadline = time.Time{}
		case <-r.Context().Done():
			// Checked at the top of the loop.
		}
		t.Stop()
	}
	q.mu.Lock()
	q.stats.ReceiveCalls++
	if len(got) == 0 {
		q.stats.EmptyReceives++
	}
	q.mu.Unlock()
	out := receiveOut{Messages: make([]sqsMessageOut, len(got))}
	for i, g := range got {
		out.Messages[i] = sqsMessageOut{
			MessageID:     g.m.id,
			ReceiptHandle: g.handle,
			MD5OfBody:     g.m.md5,
			Body:          g.m.body,
			Attributes:    g.attributes(names),
		}
	}
	return out, nil
}

func (s *Server) sendMessage(in *sqsRequest) (any, *sqsError) {
	if in.MessageBody == nil || *in.MessageBody == "" {
		return nil, missingParameter("MessageBody")
	}
	body := *in.MessageBody
	if len(body) > maxMessageBytes {
		return nil, invalidParameter(fmt.Sprintf("One or more parameters are invalid. Reason: Message must be shorter than %d bytes.", maxMessageBytes))
	}
	for _, c := range body {
		if !(c == 0x9 || c == 0xA || c == 0xD || c >= 0x20 && c <= 0xD7FF || c >= 0xE000 && c <= 0xFFFD || c >= 0x10000 && c <= 0x10FFFF) {
			return nil, senderError(http.StatusBadRequest, "InvalidMessageContents", "InvalidMessageContents",
				"Invalid binary character '#x"+strconv.FormatInt(int64(c), 16)+"' was found in the message body, the set of allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF")
		}
	}
	delay := 0
	if in.DelaySeconds != nil {
		delay = *in.DelaySeconds
		if delay < 0 || delay > maxDelaySeconds {
			return nil, invalidParameter(fmt.Sprintf("Value %d for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.", delay))
		}
	}
	id, sum := s.queue.send(body, delay, s.opts.Now())
	return sendOut{MD5OfMessageBody: sum, MessageID: id}, nil
}

// writeSQS writes an SQS answer as the awsJson1_0 protocol does.
func writeSQS(w http.ResponseWriter, requestID string, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // cannot fail: strings, numbers and maps of strings
	body := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	h := w.Header()
	h.Set("X-Amzn-Requestid", requestID)
	h.Set("Content-Type", sqsContentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeSQSError writes an SQS error as SQS does on its JSON protocol: the
// shape in the body's __type, the message as "message", and the query
// protocol's code and fault in the x-amzn-query-error header, which the SDK
// reports as the error code.
func writeSQSError(w http.ResponseWriter, requestID string, e *sqsError) {
	fault := "Receiver"
	if e.sender {
		fault = "Sender"
	}
	w.Header().Set("X-Amzn-Query-Error", e.queryCode+";"+fault)
	writeSQS(w, requestID, e.status, struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{sqsTypePrefix + e.name, e.msg})
}
