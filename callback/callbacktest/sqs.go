package callbacktest

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// This file is the SQS API of the fake: the requests' members in either
// protocol, their checks, and the answers. The queues' state is in queue.go.

// The SQS operations served beyond those of the exported Op constants.
const (
	opCreateQueue                  = "CreateQueue"
	opDeleteQueue                  = "DeleteQueue"
	opListQueues                   = "ListQueues"
	opGetQueueAttributes           = "GetQueueAttributes"
	opSetQueueAttributes           = "SetQueueAttributes"
	opPurgeQueue                   = "PurgeQueue"
	opSendMessageBatch             = "SendMessageBatch"
	opDeleteMessageBatch           = "DeleteMessageBatch"
	opChangeMessageVisibilityBatch = "ChangeMessageVisibilityBatch"
)

// sqsOps are the SQS operations the fake serves.
var sqsOps = []string{
	OpReceiveMessage, OpDeleteMessage, OpChangeMessageVisibility, OpSendMessage, OpGetQueueURL,
	opCreateQueue, opDeleteQueue, opListQueues, opGetQueueAttributes, opSetQueueAttributes, opPurgeQueue,
	opSendMessageBatch, opDeleteMessageBatch, opChangeMessageVisibilityBatch,
}

// sqsInput holds the members of the SQS requests the fake reads, from either
// protocol. Numbers are pointers so that an absent member is told from zero.
type sqsInput struct {
	QueueURL                    *string              `json:"QueueUrl"`
	QueueName                   *string              `json:"QueueName"`
	QueueOwnerAWSAccountID      *string              `json:"QueueOwnerAWSAccountId"`
	QueueNamePrefix             *string              `json:"QueueNamePrefix"`
	NextToken                   *string              `json:"NextToken"`
	MaxResults                  *int                 `json:"MaxResults"`
	MaxNumberOfMessages         *int                 `json:"MaxNumberOfMessages"`
	WaitTimeSeconds             *int                 `json:"WaitTimeSeconds"`
	VisibilityTimeout           *int                 `json:"VisibilityTimeout"`
	AttributeNames              []string             `json:"AttributeNames"`
	MessageSystemAttributeNames []string             `json:"MessageSystemAttributeNames"`
	MessageAttributeNames       []string             `json:"MessageAttributeNames"`
	ReceiptHandle               *string              `json:"ReceiptHandle"`
	MessageBody                 *string              `json:"MessageBody"`
	DelaySeconds                *int                 `json:"DelaySeconds"`
	MessageAttributes           map[string]attrInput `json:"MessageAttributes"`
	Attributes                  map[string]string    `json:"Attributes"`
	Entries                     []entryInput         `json:"Entries"`
}

// attrInput is a MessageAttributeValue of a request.
type attrInput struct {
	DataType    *string `json:"DataType"`
	StringValue *string `json:"StringValue"`
	BinaryValue []byte  `json:"BinaryValue"` // base64 in both protocols
}

// entryInput is one entry of a batch request.
type entryInput struct {
	ID                *string              `json:"Id"`
	MessageBody       *string              `json:"MessageBody"`
	DelaySeconds      *int                 `json:"DelaySeconds"`
	MessageAttributes map[string]attrInput `json:"MessageAttributes"`
	ReceiptHandle     *string              `json:"ReceiptHandle"`
	VisibilityTimeout *int                 `json:"VisibilityTimeout"`
}

// entryPrefixes are the query protocol's names of the batch entries.
var entryPrefixes = map[string]string{
	opSendMessageBatch:             "SendMessageBatchRequestEntry",
	opDeleteMessageBatch:           "DeleteMessageBatchRequestEntry",
	opChangeMessageVisibilityBatch: "ChangeMessageVisibilityBatchRequestEntry",
}

// decodeSQS reads the members of an SQS request of op: a JSON object, or the
// form of the query protocol (where lists are Name.1, Name.2, ..., maps
// Name.N.Name and Name.N.Value, and a batch's entries Prefix.N.Member). A
// request posted to a queue's URL names that queue when it has no QueueUrl.
func decodeSQS(r *http.Request, p *protocol, op string, body []byte) (in sqsInput, e *apiError) {
	defer func() {
		if in.QueueURL == nil && r.URL.Path != "/" && r.URL.Path != "" {
			in.QueueURL = &r.URL.Path // older SDKs send the query protocol to the queue's URL, without QueueUrl
		}
	}()
	if p == sqsJSON {
		err := json.Unmarshal(body, &in)
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te) && te.Field != "":
			return in, serialization("The value of member " + te.Field + " is a JSON " + te.Value + " and cannot be converted to the member's type")
		case err != nil:
			return in, serialization("Could not parse the request body as a JSON object")
		}
		keepSurrogates(body, &in)
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
	msgAttrs := func(k string) map[string]attrInput {
		var out map[string]attrInput
		for i := 1; ; i++ {
			n := k + "." + strconv.Itoa(i)
			name := str(n + ".Name")
			if name == nil {
				return out
			}
			a := attrInput{DataType: str(n + ".Value.DataType"), StringValue: str(n + ".Value.StringValue")}
			if b := str(n + ".Value.BinaryValue"); b != nil {
				var err error
				if a.BinaryValue, err = base64.StdEncoding.DecodeString(*b); err != nil && e == nil {
					e = invalidParameter("Value for parameter " + n + ".Value.BinaryValue is invalid. Reason: not base64.")
				}
			}
			if out == nil {
				out = make(map[string]attrInput)
			}
			out[*name] = a
		}
	}
	in = sqsInput{
		QueueURL: str("QueueUrl"), QueueName: str("QueueName"), QueueOwnerAWSAccountID: str("QueueOwnerAWSAccountId"), ReceiptHandle: str("ReceiptHandle"), MessageBody: str("MessageBody"),
		QueueNamePrefix: str("QueueNamePrefix"), NextToken: str("NextToken"), MaxResults: num("MaxResults"),
		MaxNumberOfMessages: num("MaxNumberOfMessages"), WaitTimeSeconds: num("WaitTimeSeconds"),
		VisibilityTimeout: num("VisibilityTimeout"), DelaySeconds: num("DelaySeconds"),
		AttributeNames: list("AttributeName"), MessageSystemAttributeNames: list("MessageSystemAttributeName"),
		MessageAttributeNames: list("MessageAttributeName"), MessageAttributes: msgAttrs("MessageAttribute"),
	}
	for i := 1; str("Attribute."+strconv.Itoa(i)+".Name") != nil; i++ {
		if in.Attributes == nil {
			in.Attributes = make(map[string]string)
		}
		in.Attributes[*str("Attribute." + strconv.Itoa(i) + ".Name")] = deref(str("Attribute." + strconv.Itoa(i) + ".Value"))
	}
	if prefix := entryPrefixes[op]; prefix != "" {
		for i := 1; ; i++ {
			n := prefix + "." + strconv.Itoa(i) + "."
			if !slices.ContainsFunc([]string{"Id", "MessageBody", "ReceiptHandle"}, func(m string) bool { return str(n+m) != nil }) {
				break
			}
			in.Entries = append(in.Entries, entryInput{
				ID: str(n + "Id"), MessageBody: str(n + "MessageBody"), DelaySeconds: num(n + "DelaySeconds"),
				MessageAttributes: msgAttrs(n + "MessageAttribute"), ReceiptHandle: str(n + "ReceiptHandle"),
				VisibilityTimeout: num(n + "VisibilityTimeout"),
			})
		}
	}
	return in, e
}

// The results of the operations, for both protocols: a map is a JSON object,
// and in XML a list of Name and Value elements.
type (
	messageOut struct {
		MessageID              string                  `json:"MessageId" xml:"MessageId"`
		ReceiptHandle          string                  `json:"ReceiptHandle"`
		MD5OfBody              string                  `json:"MD5OfBody"`
		Body                   string                  `json:"Body"`
		Attributes             map[string]string       `json:"Attributes,omitempty" xml:"-"`
		Attribute              []attributeOut          `json:"-" xml:"Attribute"`
		MD5OfMessageAttributes string                  `json:"MD5OfMessageAttributes,omitempty" xml:",omitempty"`
		MessageAttributes      map[string]attrValueOut `json:"MessageAttributes,omitempty" xml:"-"`
		MessageAttribute       []messageAttrOut        `json:"-" xml:"MessageAttribute"`
	}
	attributeOut struct{ Name, Value string }
	attrValueOut struct {
		StringValue string `json:"StringValue,omitempty" xml:",omitempty"`
		BinaryValue string `json:"BinaryValue,omitempty" xml:",omitempty"` // base64
		DataType    string `json:"DataType"`
	}
	messageAttrOut struct {
		Name  string
		Value attrValueOut
	}
	receiveOut struct {
		Messages []messageOut `json:"Messages,omitempty" xml:"Message"`
	}
	sendOut struct {
		MD5OfMessageBody       string
		MD5OfMessageAttributes string `json:",omitempty" xml:",omitempty"`
		MessageID              string `json:"MessageId" xml:"MessageId"`
	}
	queueURLOut struct {
		QueueURL string `json:"QueueUrl" xml:"QueueUrl"`
	}
	listQueuesOut struct {
		QueueURLs []string `json:"QueueUrls,omitempty" xml:"QueueUrl"`
		NextToken string   `json:"NextToken,omitempty" xml:",omitempty"`
	}
	attributesOut struct {
		Attributes map[string]string `json:"Attributes" xml:"-"`
		Attribute  []attributeOut    `json:"-" xml:"Attribute"`
	}
	batchOut struct {
		Successful []batchEntryOut `json:"Successful"`
		Failed     []batchErrorOut `json:"Failed" xml:"BatchResultErrorEntry"`
	}
	batchEntryOut struct {
		XMLName                xml.Name `json:"-"` // the entry's element, which depends on the operation
		ID                     string   `json:"Id" xml:"Id"`
		MessageID              string   `json:"MessageId,omitempty" xml:"MessageId,omitempty"`
		MD5OfMessageBody       string   `json:",omitempty" xml:",omitempty"`
		MD5OfMessageAttributes string   `json:",omitempty" xml:",omitempty"`
	}
	batchErrorOut struct {
		ID          string `json:"Id" xml:"Id"`
		SenderFault bool
		Code        string
		Message     string
	}
)

// attributesOf returns a map as both protocols write it.
func attributesOf(m map[string]string) attributesOut {
	out := attributesOut{Attributes: m}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out.Attribute = append(out.Attribute, attributeOut{k, m[k]})
	}
	return out
}

func invalidParameter(msg string) *apiError { return badRequest("InvalidParameterValue", msg) }

func missingParameter(name string) *apiError {
	return badRequest("MissingParameter", "The request must contain the parameter "+name+".")
}

var errNoQueue = &apiError{status: http.StatusBadRequest, code: "QueueDoesNotExist", query: "AWS.SimpleQueueService.NonExistentQueue", msg: "The specified queue does not exist."}

func errBadHandle(handle string) *apiError {
	return badRequest("ReceiptHandleIsInvalid", `The input receipt handle "`+handle+`" is not a valid receipt handle.`)
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

// sqsMessageOf returns the id of the message a request is about, for
// Fault.ForMessage: the one its receipt handle (or its first entry's) names,
// or for a receive the first one it would hand out now.
func (s *Server) sqsMessageOf(op string, in *sqsInput) string {
	if in.QueueURL == nil {
		return ""
	}
	q, ok := s.queueByURL(*in.QueueURL)
	if !ok {
		return ""
	}
	handle := deref(in.ReceiptHandle)
	if len(in.Entries) > 0 {
		handle = deref(in.Entries[0].ReceiptHandle)
	}
	return q.messageOf(op, handle)
}

// sqsOperation runs an SQS operation.
func (s *Server) sqsOperation(r *http.Request, op string, in *sqsInput) answer {
	fail := func(e *apiError) answer { return answer{err: e} }
	switch op {
	case OpGetQueueURL:
		if in.QueueName == nil {
			return fail(missingParameter("QueueName"))
		}
		s.queues.mu.Lock()
		q, ok := s.queues.byName[*in.QueueName]
		s.queues.mu.Unlock()
		if !ok || in.QueueOwnerAWSAccountID != nil && *in.QueueOwnerAWSAccountID != s.opts.AccountID { // the fake has no other account
			return fail(errNoQueue)
		}
		return answer{out: queueURLOut{QueueURL: q.url}}
	case opCreateQueue:
		return s.createQueue(in)
	case opListQueues:
		return s.listQueues(in)
	}
	if in.QueueURL == nil {
		return fail(missingParameter("QueueUrl"))
	}
	q, ok := s.queueByURL(*in.QueueURL)
	if !ok {
		return fail(errNoQueue)
	}
	switch op {
	case OpReceiveMessage:
		return s.receiveMessage(r, q, in)
	case OpSendMessage:
		return sendMessage(q, in)
	case opSendMessageBatch, opDeleteMessageBatch, opChangeMessageVisibilityBatch:
		return batch(q, op, in)
	case opGetQueueAttributes:
		return getQueueAttributes(q, in)
	case opSetQueueAttributes:
		return s.setQueueAttributes(q, in)
	case opPurgeQueue:
		return answer{err: q.purge()}
	case opDeleteQueue:
		s.queues.remove(q)
		return answer{}
	}
	if in.ReceiptHandle == nil {
		return fail(missingParameter("ReceiptHandle"))
	}
	if op == OpDeleteMessage {
		id, e := q.deleteMessage(*in.ReceiptHandle)
		return answer{err: e, ids: nonEmpty(id)}
	}
	if in.VisibilityTimeout == nil {
		return fail(missingParameter("VisibilityTimeout"))
	}
	vis, e := intParam(in.VisibilityTimeout, "VisibilityTimeout", 0, 0, maxVisibilitySeconds, "Must be between 0 and 43200, if provided.")
	if e != nil {
		return fail(e)
	}
	id, e := q.changeVisibility(*in.ReceiptHandle, vis)
	return answer{err: e, ids: nonEmpty(id)}
}

func nonEmpty(id string) []string {
	if id == "" {
		return nil
	}
	return []string{id}
}

func (s *Server) receiveMessage(r *http.Request, q *queue, in *sqsInput) answer {
	q.mu.Lock()
	attrs := q.attrs
	q.mu.Unlock()
	n, e1 := intParam(in.MaxNumberOfMessages, "MaxNumberOfMessages", 1, 1, 10, "Must be between 1 and 10, if provided.")
	wait, e2 := intParam(in.WaitTimeSeconds, "WaitTimeSeconds", attrs.wait, 0, 20, "Must be >= 0 and <= 20, if provided.")
	vis, e3 := intParam(in.VisibilityTimeout, "VisibilityTimeout", attrs.visibility, 0, maxVisibilitySeconds, "Must be between 0 and 43200, if provided.")
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
		var picked []messageAttr
		for _, ma := range g.m.attrs {
			if wanted(ma.name, in.MessageAttributeNames) {
				picked = append(picked, ma)
			}
		}
		if len(picked) > 0 {
			mo.MD5OfMessageAttributes = md5OfAttrs(picked) // over the attributes returned
			mo.MessageAttributes = make(map[string]attrValueOut)
			for _, ma := range picked {
				v := attrValueOut{DataType: ma.dataType, StringValue: ma.str}
				if ma.binary() {
					v = attrValueOut{DataType: ma.dataType, BinaryValue: base64.StdEncoding.EncodeToString(ma.bin)}
				}
				mo.MessageAttributes[ma.name] = v
				mo.MessageAttribute = append(mo.MessageAttribute, messageAttrOut{ma.name, v})
			}
		}
		out.Messages[i] = mo
		a.ids = append(a.ids, g.m.id)
	}
	return a
}

// wanted reports whether the MessageAttributeNames of a receive ask for the
// attribute name: "All", ".*", "prefix.*" or the name itself.
func wanted(name string, asked []string) bool {
	for _, a := range asked {
		prefix, wild := strings.CutSuffix(a, ".*")
		switch {
		case a == "All" || a == ".*" || a == name:
			return true
		case wild && strings.HasPrefix(name, prefix+"."):
			return true
		}
	}
	return false
}

// checkBody checks a message body as SQS does: present, and text SQS
// allows (see checkText).
func checkBody(body *string) *apiError {
	if body == nil || *body == "" {
		return missingParameter("MessageBody")
	}
	return checkText(*body, "the message body")
}

// checkText checks a message body or an attribute's value, named by where,
// as SQS does: valid UTF-8 (invalid UTF-8 is refused, not read as U+FFFD;
// a lone surrogate is named as SQS names it) of the characters XML allows,
// #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF.
func checkText(s, where string) *apiError {
	if c, ok := surrogateIn(s); ok {
		return invalidChar(c, where)
	}
	if !utf8.ValidString(s) {
		return badRequest("InvalidMessageContents", "Invalid binary character was found in "+where+": it is not valid UTF-8")
	}
	for _, c := range s {
		if !(c == 0x9 || c == 0xA || c == 0xD || c >= 0x20 && c <= 0xD7FF || c >= 0xE000 && c <= 0xFFFD || c >= 0x10000 && c <= 0x10FFFF) {
			return invalidChar(c, where)
		}
	}
	return nil
}

// invalidChar is SQS's error for a character it does not allow.
func invalidChar(c rune, where string) *apiError {
	return badRequest("InvalidMessageContents", "Invalid binary character '#x"+strconv.FormatInt(int64(c), 16)+"' was found in "+where+", the set of allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF")
}

var attrNameRE = regexp.MustCompile(`^[A-Za-z0-9_\-.]{1,256}$`)

// checkAttrs checks the MessageAttributes of a message as SQS does, and
// returns them with their size in bytes.
func checkAttrs(in map[string]attrInput) ([]messageAttr, int, *apiError) {
	if len(in) > 10 {
		return nil, 0, invalidParameter(fmt.Sprintf("Number of message attributes [%d] exceeds the allowed maximum [10].", len(in)))
	}
	var out []messageAttr
	size := 0
	for _, name := range slices.Sorted(maps.Keys(in)) {
		v := in[name]
		lower := strings.ToLower(name)
		switch {
		case !attrNameRE.MatchString(name) || strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") || strings.Contains(name, ".."):
			return nil, 0, invalidParameter("Message (user) attribute name '" + name + "' is invalid: it may hold only letters, digits, '_', '-' and '.', at most 256, not starting or ending with '.', nor with '..' in it.")
		case strings.HasPrefix(lower, "aws.") || strings.HasPrefix(lower, "amazon."):
			return nil, 0, invalidParameter("Message (user) attribute name '" + name + "' is invalid: the prefixes AWS. and Amazon. are reserved.")
		case v.DataType == nil || *v.DataType == "":
			return nil, 0, invalidParameter("The message attribute '" + name + "' must contain non-empty message attribute type.")
		}
		a := messageAttr{name: name, dataType: *v.DataType}
		switch baseType(a.dataType) {
		case "String", "Number":
			if v.StringValue == nil || *v.StringValue == "" {
				return nil, 0, invalidParameter("The message attribute '" + name + "' with type '" + baseType(a.dataType) + "' must use field 'String'.")
			}
			a.str = *v.StringValue
			if e := checkText(a.str, "the message attribute '"+name+"'"); e != nil {
				return nil, 0, e
			}
			if _, err := strconv.ParseFloat(a.str, 64); baseType(a.dataType) == "Number" && err != nil {
				return nil, 0, invalidParameter("Can't cast the value of message (user) attribute '" + name + "' to a number.")
			}
		case "Binary":
			if len(v.BinaryValue) == 0 {
				return nil, 0, invalidParameter("The message attribute '" + name + "' with type 'Binary' must use field 'Binary'.")
			}
			a.bin = v.BinaryValue
		default:
			return nil, 0, invalidParameter("The type of message (user) attribute '" + name + "' is invalid. You must use only the following supported type prefixes: Binary, Number, String.")
		}
		size += len(name) + len(a.dataType) + len(a.str) + len(a.bin)
		out = append(out, a)
	}
	return out, size, nil
}

// newMessage checks the members of a message to send on q, and returns its
// attributes and its delay.
func newMessage(q *queue, body *string, delaySeconds *int, attrsIn map[string]attrInput) ([]messageAttr, int, *apiError) {
	if e := checkBody(body); e != nil {
		return nil, 0, e
	}
	attrs, size, e := checkAttrs(attrsIn)
	if e != nil {
		return nil, 0, e
	}
	q.mu.Lock()
	qa := q.attrs
	q.mu.Unlock()
	if size += len(*body); size > qa.maxSize {
		return nil, 0, invalidParameter(fmt.Sprintf("One or more parameters are invalid. Reason: Message must be shorter than %d bytes.", qa.maxSize))
	}
	delay, e := intParam(delaySeconds, "DelaySeconds", qa.delay, 0, 900, "DelaySeconds must be >= 0 and <= 900.")
	return attrs, delay, e
}

func sendMessage(q *queue, in *sqsInput) answer {
	attrs, delay, e := newMessage(q, in.MessageBody, in.DelaySeconds, in.MessageAttributes)
	if e != nil {
		return answer{err: e}
	}
	m := q.send(*in.MessageBody, delay, attrs)
	return answer{out: sendOut{MD5OfMessageBody: m.md5, MD5OfMessageAttributes: m.md5Attrs, MessageID: m.id}, ids: []string{m.id}}
}

var batchIDRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

// batch runs SendMessageBatch, DeleteMessageBatch or
// ChangeMessageVisibilityBatch: the batch's own errors fail the call, an
// entry's its entry only.
func batch(q *queue, op string, in *sqsInput) answer {
	entry := entryPrefixes[op]
	switch {
	case len(in.Entries) == 0:
		return answer{err: &apiError{status: 400, code: "EmptyBatchRequest", query: "AWS.SimpleQueueService.EmptyBatchRequest", msg: "There should be at least one " + entry + " in the request."}}
	case len(in.Entries) > 10:
		return answer{err: &apiError{status: 400, code: "TooManyEntriesInBatchRequest", query: "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", msg: fmt.Sprintf("Maximum number of entries per request are 10. You have sent %d.", len(in.Entries))}}
	}
	seen := make(map[string]bool)
	size := 0
	for _, en := range in.Entries {
		id := deref(en.ID)
		if !batchIDRE.MatchString(id) {
			return answer{err: &apiError{status: 400, code: "InvalidBatchEntryId", query: "AWS.SimpleQueueService.InvalidBatchEntryId", msg: "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long."}}
		}
		if seen[id] {
			return answer{err: &apiError{status: 400, code: "BatchEntryIdsNotDistinct", query: "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", msg: "Id " + id + " repeated."}}
		}
		seen[id] = true
		size += len(deref(en.MessageBody))
		for name, a := range en.MessageAttributes {
			size += len(name) + len(deref(a.DataType)) + len(deref(a.StringValue)) + len(a.BinaryValue)
		}
	}
	if op == opSendMessageBatch && size > maxMessageBytes {
		return answer{err: &apiError{status: 400, code: "BatchRequestTooLong", query: "AWS.SimpleQueueService.BatchRequestTooLong", msg: fmt.Sprintf("Batch requests cannot be longer than %d bytes. You have sent %d bytes.", maxMessageBytes, size)}}
	}
	out := batchOut{Successful: []batchEntryOut{}, Failed: []batchErrorOut{}}
	a := answer{out: &out}
	name := xml.Name{Local: strings.TrimSuffix(entry, "RequestEntry") + "ResultEntry"}
	for _, en := range in.Entries {
		ok := batchEntryOut{XMLName: name, ID: *en.ID}
		var id string
		var e *apiError
		switch op {
		case opSendMessageBatch:
			var attrs []messageAttr
			var delay int
			if attrs, delay, e = newMessage(q, en.MessageBody, en.DelaySeconds, en.MessageAttributes); e == nil {
				m := q.send(*en.MessageBody, delay, attrs)
				id, ok.MessageID, ok.MD5OfMessageBody, ok.MD5OfMessageAttributes = m.id, m.id, m.md5, m.md5Attrs
			}
		case opDeleteMessageBatch:
			if en.ReceiptHandle == nil {
				e = missingParameter("ReceiptHandle")
			} else {
				id, e = q.deleteMessage(*en.ReceiptHandle)
			}
		default:
			vis := 0
			switch {
			case en.ReceiptHandle == nil:
				e = missingParameter("ReceiptHandle")
			default:
				if vis, e = intParam(en.VisibilityTimeout, "VisibilityTimeout", 0, 0, maxVisibilitySeconds, "Must be between 0 and 43200, if provided."); e == nil {
					id, e = q.changeVisibility(*en.ReceiptHandle, vis)
				}
			}
		}
		if id != "" {
			a.ids = append(a.ids, id)
		}
		if e != nil {
			out.Failed = append(out.Failed, batchErrorOut{ID: *en.ID, SenderFault: e.status < 500, Code: e.queryCode(), Message: e.msg})
			continue
		}
		out.Successful = append(out.Successful, ok)
	}
	return a
}

var queueNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

func (s *Server) createQueue(in *sqsInput) answer {
	if in.QueueName == nil {
		return answer{err: missingParameter("QueueName")}
	}
	name := *in.QueueName
	switch {
	case strings.HasSuffix(name, ".fifo") || in.Attributes["FifoQueue"] == "true":
		return answer{err: invalidParameter("The fake serves standard queues only, not FIFO queues.")}
	case !queueNameRE.MatchString(name):
		return answer{err: invalidParameter("Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")}
	}
	set := s.queues
	set.mu.Lock()
	q, exists := set.byName[name]
	deletedAt := set.deleted[name]
	set.mu.Unlock()
	if exists {
		q.mu.Lock()
		cur := q.attrs
		q.mu.Unlock()
		next, e := s.applyAttrs(cur, in.Attributes)
		if e != nil {
			return answer{err: e}
		}
		if !next.equal(cur) {
			return answer{err: &apiError{status: 400, code: "QueueNameExists", query: "QueueAlreadyExists", msg: "A queue already exists with the same name and a different value for attribute(s) " + strings.Join(slices.Sorted(maps.Keys(in.Attributes)), ", ")}}
		}
		return answer{out: queueURLOut{QueueURL: q.url}}
	}
	if !deletedAt.IsZero() && time.Now().Before(deletedAt.Add(time.Duration(recreateSeconds)*s.opts.Queue.Second)) {
		return answer{err: &apiError{status: 400, code: "QueueDeletedRecently", query: "AWS.SimpleQueueService.QueueDeletedRecently", msg: "You must wait 60 seconds after deleting a queue before you can create another with the same name."}}
	}
	attrs, e := s.applyAttrs(defaultAttrs(), in.Attributes)
	if e != nil {
		return answer{err: e}
	}
	q, created := set.create(name, attrs)
	if !created { // created meanwhile by another request
		return s.createQueue(in)
	}
	return answer{out: queueURLOut{QueueURL: q.url}}
}

// remove deletes a queue, as DeleteQueue: its messages go with it.
func (set *queueSet) remove(q *queue) {
	set.mu.Lock()
	defer set.mu.Unlock()
	if set.byName[q.name] == q {
		delete(set.byName, q.name)
		set.deleted[q.name] = time.Now()
	}
}

func (s *Server) listQueues(in *sqsInput) answer {
	limit, e := intParam(in.MaxResults, "MaxResults", 1000, 1, 1000, "MaxResults must be an integer between 1 and 1000.")
	if e != nil {
		return answer{err: e}
	}
	after := ""
	if in.NextToken != nil {
		b, err := base64.RawURLEncoding.DecodeString(*in.NextToken)
		if err != nil || len(b) == 0 {
			return answer{err: invalidParameter("Invalid NextToken value.")}
		}
		after = string(b)
	}
	s.queues.mu.Lock()
	var names []string
	for name := range s.queues.byName {
		if strings.HasPrefix(name, deref(in.QueueNamePrefix)) && name > after {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	var out listQueuesOut
	for i, name := range names {
		if i == limit {
			if in.MaxResults != nil {
				out.NextToken = base64.RawURLEncoding.EncodeToString([]byte(names[i-1]))
			}
			break
		}
		out.QueueURLs = append(out.QueueURLs, s.queues.byName[name].url)
	}
	s.queues.mu.Unlock()
	return answer{out: out}
}

// The queue attributes: those a request may set, and those only read.
var (
	settableAttrs = []string{"DelaySeconds", "MaximumMessageSize", "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds", "VisibilityTimeout", "RedrivePolicy"}
	keptAttrs     = []string{"Policy", "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds", "SqsManagedSseEnabled", "RedriveAllowPolicy", "FifoQueue"}
	readAttrs     = []string{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed", "CreatedTimestamp", "LastModifiedTimestamp", "QueueArn"}
)

// applyAttrs returns attrs with the attributes of a CreateQueue or
// SetQueueAttributes request applied, checked as SQS checks them.
func (s *Server) applyAttrs(attrs queueAttrs, in map[string]string) (queueAttrs, *apiError) {
	attrs.other = maps.Clone(attrs.other)
	bad := func(name string) *apiError {
		return badRequest("InvalidAttributeValue", "Invalid value for the parameter "+name+".")
	}
	for _, name := range slices.Sorted(maps.Keys(in)) {
		v := in[name]
		num := func(lo, hi int) (int, *apiError) {
			n, err := strconv.Atoi(v)
			if err != nil || n < lo || n > hi {
				return 0, bad(name)
			}
			return n, nil
		}
		var e *apiError
		switch name {
		case "DelaySeconds":
			attrs.delay, e = num(0, 900)
		case "MaximumMessageSize":
			attrs.maxSize, e = num(1024, maxMessageBytes)
		case "MessageRetentionPeriod":
			attrs.retention, e = num(60, maxRetention)
		case "ReceiveMessageWaitTimeSeconds":
			attrs.wait, e = num(0, 20)
		case "VisibilityTimeout":
			attrs.visibility, e = num(0, maxVisibilitySeconds)
		case "RedrivePolicy":
			attrs.redrive, e = s.parseRedrive(v)
		case "FifoQueue":
			if v != "false" {
				e = invalidParameter("The fake serves standard queues only, not FIFO queues.")
			}
		default:
			if !slices.Contains(keptAttrs, name) {
				return attrs, badRequest("InvalidAttributeName", "Unknown Attribute "+name+".")
			}
			if attrs.other == nil {
				attrs.other = make(map[string]string)
			}
			attrs.other[name] = v
		}
		if e != nil {
			return attrs, e
		}
	}
	return attrs, nil
}

// parseRedrive reads a RedrivePolicy attribute, {"deadLetterTargetArn":
// "arn:aws:sqs:...", "maxReceiveCount": "5"} (a number or a string); ""
// removes the policy.
func (s *Server) parseRedrive(v string) (*redrivePolicy, *apiError) {
	if v == "" {
		return nil, nil
	}
	var p struct {
		DeadLetterTargetArn string          `json:"deadLetterTargetArn"`
		MaxReceiveCount     json.RawMessage `json:"maxReceiveCount"`
	}
	bad := func(reason string) *apiError {
		return invalidParameter("Value " + v + " for parameter RedrivePolicy is invalid. Reason: " + reason)
	}
	if err := json.Unmarshal([]byte(v), &p); err != nil {
		return nil, bad("Redrive policy is not a valid JSON map.")
	}
	n, err := strconv.Atoi(strings.Trim(string(p.MaxReceiveCount), `"`))
	switch {
	case p.DeadLetterTargetArn == "":
		return nil, bad("Redrive policy does not contain mandatory attribute: deadLetterTargetArn.")
	case len(p.MaxReceiveCount) == 0:
		return nil, bad("Redrive policy does not contain mandatory attribute: maxReceiveCount.")
	case err != nil || n < 1 || n > 1000:
		return nil, bad("Invalid value for maxReceiveCount: " + string(p.MaxReceiveCount) + ", valid values are from 1 to 1000 both inclusive.")
	}
	if _, ok := s.queues.byARN(p.DeadLetterTargetArn); !ok {
		return nil, bad("Dead letter target does not exist.")
	}
	return &redrivePolicy{deadLetterARN: p.DeadLetterTargetArn, maxReceives: n}, nil
}

// equal reports whether two queues' attributes are the same.
func (a queueAttrs) equal(b queueAttrs) bool {
	sameRedrive := a.redrive == b.redrive || a.redrive != nil && b.redrive != nil && *a.redrive == *b.redrive
	return a.visibility == b.visibility && a.retention == b.retention && a.delay == b.delay && a.wait == b.wait &&
		a.maxSize == b.maxSize && sameRedrive && maps.Equal(a.other, b.other)
}

func (s *Server) setQueueAttributes(q *queue, in *sqsInput) answer {
	if len(in.Attributes) == 0 {
		return answer{err: missingParameter("Attribute.1.Name")}
	}
	for name := range in.Attributes {
		if slices.Contains(readAttrs, name) {
			return answer{err: badRequest("InvalidAttributeName", "Unknown Attribute "+name+".")}
		}
	}
	q.mu.Lock()
	cur := q.attrs
	q.mu.Unlock()
	next, e := s.applyAttrs(cur, in.Attributes)
	if e != nil {
		return answer{err: e}
	}
	q.mu.Lock()
	q.attrs, q.modified = next, q.opts.Now()
	q.broadcast() // a shorter wait or a redrive may concern a long poll
	q.mu.Unlock()
	return answer{}
}

func getQueueAttributes(q *queue, in *sqsInput) answer {
	names := in.AttributeNames
	all := slices.Concat(readAttrs, settableAttrs, keptAttrs)
	for _, n := range names {
		if n != "All" && !slices.Contains(all, n) {
			return answer{err: badRequest("InvalidAttributeName", "Unknown Attribute "+n+".")}
		}
	}
	visible, inFlight, delayed := q.counts()
	q.mu.Lock()
	a := q.attrs
	created, modified := q.created, q.modified
	q.mu.Unlock()
	values := map[string]string{
		"ApproximateNumberOfMessages":           strconv.Itoa(visible),
		"ApproximateNumberOfMessagesNotVisible": strconv.Itoa(inFlight),
		"ApproximateNumberOfMessagesDelayed":    strconv.Itoa(delayed),
		"CreatedTimestamp":                      strconv.FormatInt(created.Unix(), 10),
		"LastModifiedTimestamp":                 strconv.FormatInt(modified.Unix(), 10),
		"QueueArn":                              q.arn,
		"DelaySeconds":                          strconv.Itoa(a.delay),
		"MaximumMessageSize":                    strconv.Itoa(a.maxSize),
		"MessageRetentionPeriod":                strconv.Itoa(a.retention),
		"ReceiveMessageWaitTimeSeconds":         strconv.Itoa(a.wait),
		"VisibilityTimeout":                     strconv.Itoa(a.visibility),
	}
	if rp := a.redrive; rp != nil {
		values["RedrivePolicy"] = string(jsonOf(struct {
			DeadLetterTargetArn string `json:"deadLetterTargetArn"`
			MaxReceiveCount     int    `json:"maxReceiveCount"`
		}{rp.deadLetterARN, rp.maxReceives}))
	}
	maps.Copy(values, a.other)
	out := make(map[string]string)
	for k, v := range values {
		if slices.Contains(names, "All") || slices.Contains(names, k) {
			out[k] = v
		}
	}
	return answer{out: attributesOf(out)}
}
