package callbacktest

import (
	"bytes"
	"cmp"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

const (
	sageMakerPrefix = "SageMaker."
	sqsPrefix       = "AmazonSQS."
	maxBody         = 8 << 20
	msgInternal     = "We encountered an internal error. Please try again."
	sqsNamespace    = "http://queue.amazonaws.com/doc/2012-11-05/"
)

// protocol is one of the wire protocols the fake serves.
type protocol struct {
	service     string   // the SigV4 signing name
	contentType string   // of the requests, and of the answers of the JSON protocols
	prefix      string   // of X-Amz-Target; "" for the query protocol
	ops         []string // the operations served
	log         int      // which list of Server.logs records its requests
}

var (
	sageMakerOps = []string{OpFailure, OpSuccess,
		opCreatePipeline, opDescribePipeline, opDeletePipeline, opStartPipelineExecution,
		opDescribePipelineExecution, opListPipelineExecutions, opListPipelineExecutionSteps, opStopPipelineExecution}

	sageMakerJSON = &protocol{"sagemaker", "application/x-amz-json-1.1", sageMakerPrefix, sageMakerOps, 0}
	sqsJSON       = &protocol{"sqs", "application/x-amz-json-1.0", sqsPrefix, sqsOps, 1}
	sqsQuery      = &protocol{"sqs", "application/x-www-form-urlencoded", "", sqsOps, 1}
)

// protocolOf tells which protocol a request speaks: an X-Amz-Target of
// AmazonSQS.* with SQS's JSON content type is SQS JSON; a form-encoded body
// without a target is SQS's query protocol; everything else goes to SageMaker.
func protocolOf(r *http.Request) *protocol {
	target := r.Header.Get("X-Amz-Target")
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case strings.HasPrefix(target, sqsPrefix) && mt == sqsJSON.contentType:
		return sqsJSON
	case target == "" && mt == sqsQuery.contentType:
		return sqsQuery
	}
	return sageMakerJSON
}

// apiError is an error answer.
type apiError struct {
	status int
	code   string // the code of X-Amzn-Errortype and __type
	query  string // SQS's query-protocol code, when it is not code without "Exception"
	msg    string
}

func (e *apiError) queryCode() string {
	return cmp.Or(e.query, strings.TrimSuffix(e.code, "Exception"))
}

// fault is the query protocol's Type of the error: whose fault it is.
func (e *apiError) fault() string {
	if e.status >= 500 {
		return "Receiver"
	}
	return "Sender"
}

func badRequest(code, msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: code, msg: msg}
}

func serialization(msg string) *apiError { return badRequest("SerializationException", msg) }

var (
	errAccessDenied = &apiError{status: http.StatusForbidden, code: "AccessDeniedException", query: "AccessDenied", msg: "Unable to determine service/operation name to be authorized"}
	errInternal     = &apiError{status: http.StatusInternalServerError, code: "InternalFailure", msg: msgInternal}
)

// answer is what the fake does with a request: an HTTP answer, or a closed
// connection.
type answer struct {
	err         *apiError // the error, or nil for a success
	out         any       // the result of a success
	drop, reset bool      // close the connection with no answer (with a TCP reset)
	arn         string
	ids         []string // the SQS messages concerned
	completed   bool
	replayed    bool
}

// serve serves one request of any protocol: it records the request, works
// out the answer, records it, answers, and calls OnRequest.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if !s.enter() {
		closeConn(w, false)
		return
	}
	defer s.inflight.Done()
	p := protocolOf(r)
	rec := &Request{
		Target:       r.Header.Get("X-Amz-Target"),
		InvocationID: r.Header.Get("Amz-Sdk-Invocation-Id"),
		RequestID:    newUUID(),
		Received:     s.opts.Now(),
		InFlight:     true,
	}
	rec.Attempt, rec.MaxAttempts = parseSDKRequest(r.Header.Get("Amz-Sdk-Request"))
	s.mu.Lock()
	idx := s.record(p.log, -1, rec) // so that a request held by a Delay is listed
	s.mu.Unlock()

	a := s.safeHandle(w, r, p, rec, idx)
	rec.InFlight, rec.StatusCode = false, http.StatusOK
	if e := a.err; e != nil {
		rec.StatusCode, rec.ErrorCode, rec.ErrorMessage = e.status, e.code, e.msg
		if p != sageMakerJSON {
			rec.ErrorCode = e.queryCode() // what SQS clients report
		}
	}
	rec.ExecutionARN, rec.MessageIDs = a.arn, a.ids // rec.Fault was set when the fault was picked
	rec.Completed, rec.Replayed = a.completed, a.replayed
	if a.drop {
		rec.StatusCode = 0
	}
	s.mu.Lock()
	s.record(p.log, idx, rec) // before answering: a caller holding its answer finds it
	s.mu.Unlock()

	if a.drop {
		closeConn(w, a.reset)
	} else {
		p.write(w, rec.Operation, rec.RequestID, a)
	}
	if s.opts.OnRequest != nil {
		s.opts.OnRequest(copyRequest(rec))
	}
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

// safeHandle is handle turning a panic into HTTP 500 InternalFailure: no path
// may end in the implicit empty 200 that an SDK would read as a success.
func (s *Server) safeHandle(w http.ResponseWriter, r *http.Request, p *protocol, rec *Request, idx int) (a answer) {
	defer func() {
		if v := recover(); v != nil {
			a = answer{err: errInternal}
			if v == http.ErrAbortHandler {
				a = answer{drop: true}
			}
		}
	}()
	return s.handle(w, r, p, rec, idx)
}

// handle works out the answer to a request, in the order AWS's services check
// things: the method, the body, the content type and the operation, the
// signature, the members' types; then the fake's rate limit and faults; then
// the operation itself (which checks the members' values).
func (s *Server) handle(w http.ResponseWriter, r *http.Request, p *protocol, rec *Request, idx int) answer {
	if r.Method != http.MethodPost {
		return answer{err: errAccessDenied}
	}
	// The server's ReadTimeout bounds the header and the body together.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	_ = http.NewResponseController(w).SetReadDeadline(time.Time{}) // a long poll's wait must not be cut
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return answer{err: &apiError{status: http.StatusRequestEntityTooLarge, code: "RequestEntityTooLargeException", msg: "Request is too large."}}
		}
		return answer{drop: true} // the client went away, or stalled
	}
	op, e := p.operation(r, body)
	if e != nil {
		return answer{err: e}
	}
	rec.Operation = op
	if e := checkAuth(r, p.service, s.opts.Region); e != nil {
		return answer{err: e}
	}
	var m members
	var pin pipelineInput
	var in sqsInput
	msgID := ""
	pipelineOp := pipelineMembers[op] != nil
	if pipelineOp {
		if pin, e = decodePipelineInput(body, op); e != nil {
			return answer{err: e}
		}
		rec.ClientRequestToken = deref(pin.crt)
	} else if p == sageMakerJSON {
		if m, e = decodeMembers(body, op); e != nil {
			return answer{err: e}
		}
		rec.CallbackToken, rec.ClientRequestToken = deref(m.token), deref(m.crt)
		rec.FailureReason, rec.OutputParameters = m.reason, m.outputList()
	} else {
		if in, e = decodeSQS(r, p, op, body); e != nil {
			return answer{err: e}
		}
		msgID = s.sqsMessageOf(op, &in)
	}
	if h := s.testHook.Load(); h != nil {
		(*h)(op)
	}
	s.mu.Lock()
	allowed := p != sageMakerJSON || s.allow()
	var f Fault
	if allowed {
		f = s.pickFault(op, rec.CallbackToken, msgID)
	}
	rec.Fault = f.bare()
	s.record(p.log, idx, rec) // the members and the fault, while the request is in flight
	s.mu.Unlock()
	if !allowed {
		return answer{err: badRequest("ThrottlingException", "Rate exceeded")}
	}
	var a answer
	switch f.kind {
	case kindReset:
		a.drop, a.reset = true, true
		return a
	case kindDelay:
		if !s.wait(r, f.delay) {
			a.drop = true
			return a
		}
	case kindThrottle, kindInternal, kindUnavailable, kindLimit:
		a.err = faultError(f.kind, p == sageMakerJSON)
		return a
	}
	if pipelineOp {
		a = s.pipelineOperation(op, &pin)
	} else if p == sageMakerJSON {
		a = s.process(op, &m)
	} else {
		a = s.sqsOperation(r, op, &in)
	}
	a.drop = f.kind == kindDrop
	return a
}

// faultError returns the error answer of a fault, as SageMaker or SQS sends it.
func faultError(k faultKind, sageMaker bool) *apiError {
	switch {
	case k == kindInternal:
		return errInternal
	case k == kindUnavailable:
		return &apiError{status: http.StatusServiceUnavailable, code: "ServiceUnavailable", msg: "Service is unavailable. Please try again later."}
	case k == kindThrottle && sageMaker:
		return badRequest("ThrottlingException", "Rate exceeded")
	case k == kindThrottle:
		return badRequest("RequestThrottled", "Rate exceeded")
	case sageMaker:
		return badRequest("ResourceLimitExceeded", "The account-level service limit for pipeline execution callbacks has been exceeded.")
	}
	return &apiError{status: http.StatusForbidden, code: "OverLimit", msg: "The maximum number of in flight messages is reached."}
}

// operation returns the operation a request asks for, checking the content
// type and that the body can be parsed.
func (p *protocol) operation(r *http.Request, body []byte) (string, *apiError) {
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, p.prefix)
	if p == sqsQuery {
		v, err := url.ParseQuery(string(body))
		if err != nil {
			return "", badRequest("MalformedQueryString", "The query string is malformed: "+err.Error())
		}
		op, ok, target = v.Get("Action"), true, v.Get("Action")
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != p.contentType {
		if target == "" {
			return "", errAccessDenied
		}
		return "", &apiError{status: http.StatusNotFound, code: "UnknownOperationException", msg: "Unknown operation: the Content-Type must be " + p.contentType}
	}
	if !ok || !slices.Contains(p.ops, op) {
		return "", &apiError{status: http.StatusBadRequest, code: "UnknownOperationException", query: "InvalidAction", msg: "Unknown operation " + strconv.Quote(target)}
	}
	switch {
	case p == sqsQuery:
	case len(bytes.TrimSpace(body)) == 0:
		return "", serialization("The request body is empty: expected a JSON object")
	case !utf8.Valid(body):
		return "", serialization("Invalid UTF-8 in the request body")
	case !json.Valid(body):
		return "", serialization("Could not parse the request body as JSON")
	}
	return op, nil
}

// checkAuth checks that a request carries a SigV4 Authorization header with a
// credential scoped to the region and service, as AWS checks before it looks
// at the signature, and returns the error AWS answers with, or nil. It does
// not verify the signature.
func checkAuth(r *http.Request, service, region string) *apiError {
	auth := strings.TrimSpace(r.Header.Get("Authorization"))
	if auth == "" {
		return badRequest("MissingAuthenticationTokenException", "Missing Authentication Token")
	}
	alg, rest, _ := strings.Cut(auth, " ")
	if alg != "AWS4-HMAC-SHA256" {
		return badRequest("IncompleteSignatureException", fmt.Sprintf("Unsupported AWS 'algorithm': '%s' (only AWS4-HMAC-SHA256 for now). ", alg))
	}
	params := make(map[string]string)
	for _, kv := range strings.Split(rest, ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(kv), "="); ok {
			params[k] = v
		}
	}
	var b strings.Builder
	for _, p := range []string{"Credential", "Signature", "SignedHeaders"} {
		if params[p] == "" {
			b.WriteString("Authorization header requires '" + p + "' parameter. ")
		}
	}
	if r.Header.Get("X-Amz-Date") == "" && r.Header.Get("Date") == "" {
		b.WriteString("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ")
	}
	if b.Len() > 0 {
		return badRequest("IncompleteSignatureException", b.String()+"Authorization="+auth)
	}
	cred := strings.TrimRight(params["Credential"], "/")
	parts := strings.Split(cred, "/")
	if len(parts) != 5 {
		return badRequest("IncompleteSignatureException", "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '"+cred+"'")
	}
	if parts[2] != region {
		b.WriteString("Credential should be scoped to a valid region, not '" + parts[2] + "'. ")
	}
	if parts[3] != service {
		b.WriteString("Credential should be scoped to correct service: '" + service + "'. ")
	}
	if parts[4] != "aws4_request" {
		b.WriteString("Credential should be scoped with a valid terminator: 'aws4_request', not '" + parts[4] + "'. ")
	}
	if b.Len() > 0 {
		return &apiError{status: http.StatusBadRequest, code: "InvalidSignatureException", query: "SignatureDoesNotMatch", msg: b.String()}
	}
	return nil
}

// wait holds a request for d; it reports false when Close or the client cut
// the wait short.
func (s *Server) wait(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.closing:
	case <-r.Context().Done():
	}
	return false
}

// write writes an answer as the protocol does: JSON for the JSON protocols,
// with the error's code in X-Amzn-Errortype (SageMaker) or
// x-amzn-query-error (SQS); XML for SQS's query protocol.
func (p *protocol) write(w http.ResponseWriter, op, requestID string, a answer) {
	h := w.Header()
	status, ct, e := http.StatusOK, p.contentType, a.err
	var body []byte
	if e != nil {
		status = e.status
	}
	switch {
	case p == sqsQuery:
		ct, body = "text/xml", xmlAnswer(op, requestID, a)
	case e == nil && a.out == nil:
		body = []byte("{}")
	case e == nil:
		body = jsonOf(a.out)
	case p == sageMakerJSON:
		h.Set("X-Amzn-Errortype", e.code)
		body = jsonOf(struct {
			Type    string `json:"__type"`
			Message string `json:"Message"`
		}{e.code, e.msg})
	default:
		h.Set("X-Amzn-Query-Error", e.queryCode()+";"+e.fault())
		body = jsonOf(struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}{"com.amazonaws.sqs#" + e.code, e.msg})
	}
	h.Set("X-Amzn-Requestid", requestID)
	h.Set("Content-Type", ct)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
	_ = http.NewResponseController(w).Flush()
}

func jsonOf(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // cannot fail: strings, numbers and maps of strings
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// xmlAnswer returns the XML of an answer of SQS's query protocol.
func xmlAnswer(op, requestID string, a answer) []byte {
	var b bytes.Buffer
	if e := a.err; e != nil {
		fmt.Fprintf(&b, `<ErrorResponse xmlns="%s"><Error><Type>%s</Type><Code>%s</Code><Message>`, sqsNamespace, e.fault(), e.queryCode())
		_ = xml.EscapeText(&b, []byte(e.msg))
		fmt.Fprintf(&b, `</Message><Detail/></Error><RequestId>%s</RequestId></ErrorResponse>`, requestID)
		return b.Bytes()
	}
	fmt.Fprintf(&b, `<%sResponse xmlns="%s">`, op, sqsNamespace)
	if a.out != nil {
		_ = xml.NewEncoder(&b).EncodeElement(a.out, xml.StartElement{Name: xml.Name{Local: op + "Result"}})
	}
	fmt.Fprintf(&b, `<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>`, requestID, op)
	return b.Bytes()
}

// closeConn closes the connection of a request with no answer; with reset,
// as a TCP reset.
func closeConn(w http.ResponseWriter, reset bool) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			if tc, ok := conn.(*net.TCPConn); ok && reset {
				_ = tc.SetLinger(0)
			}
			_ = conn.Close()
			return
		}
	}
	// Not hijackable: abort the handler, which closes the connection (HTTP/1)
	// or resets the stream (HTTP/2) without an answer.
	panic(http.ErrAbortHandler)
}

// parseSDKRequest parses an Amz-Sdk-Request header, "attempt=1; max=3".
func parseSDKRequest(h string) (attempt, maxAttempts int) {
	for _, part := range strings.Split(h, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		n, err := strconv.Atoi(strings.TrimSpace(v))
		switch {
		case err != nil:
		case k == "attempt":
			attempt = n
		case k == "max":
			maxAttempts = n
		}
	}
	return attempt, maxAttempts
}
