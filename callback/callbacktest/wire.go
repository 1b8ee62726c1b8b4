package callbacktest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/stepcallback/sagemaker-callback/validate"
)

const (
	targetPrefix = "SageMaker."
	contentType  = "application/x-amz-json-1.1"
	maxBody      = 8 << 20

	msgInternal = "We encountered an internal error. Please try again."
)

// The error codes the fake answers with, in the X-Amzn-Errortype header and
// the body's __type.
const (
	CodeAccessDenied          = "AccessDeniedException"
	CodeConflict              = "ConflictException"
	CodeIncompleteSignature   = "IncompleteSignatureException"
	CodeInternalFailure       = "InternalFailure"
	CodeInvalidSignature      = "InvalidSignatureException"
	CodeMissingAuthentication = "MissingAuthenticationTokenException"
	CodeRequestTooLarge       = "RequestEntityTooLargeException"
	CodeResourceLimitExceeded = "ResourceLimitExceeded"
	CodeResourceNotFound      = "ResourceNotFound"
	CodeSerialization         = "SerializationException"
	CodeServiceUnavailable    = "ServiceUnavailable"
	CodeThrottling            = "ThrottlingException"
	CodeUnknownOperation      = "UnknownOperationException"
	CodeValidation            = "ValidationException"
)

// answer is what the fake does with a request: an HTTP answer, or a closed
// connection.
type answer struct {
	status    int
	code, msg string // the error, or "" on success
	arn       string
	drop      bool // close the connection with no answer
	reset     bool // ... with a TCP reset
	fault     Fault
	completed bool
	replayed  bool
}

func errAnswer(status int, code, msg string) answer {
	return answer{status: status, code: code, msg: msg}
}

// serveHTTP serves one request: it works out the answer, records the request,
// answers, and calls OnRequest.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.enter() {
		closeConn(w, false)
		return
	}
	defer s.inflight.Done()

	rec := &Request{
		Target:       r.Header.Get("X-Amz-Target"),
		InvocationID: r.Header.Get("Amz-Sdk-Invocation-Id"),
		RequestID:    newUUID(),
		Received:     s.opts.Now(),
	}
	rec.Operation = operationOf(rec.Target)
	rec.Attempt, rec.MaxAttempts = parseSDKRequest(r.Header.Get("Amz-Sdk-Request"))

	// Record the request as it arrives, so that Requests lists every attempt
	// received, including one still held by a Delay when its client gives up.
	rec.InFlight = true
	s.mu.Lock()
	idx := len(s.requests)
	s.requests = append(s.requests, copyRequest(rec))
	s.mu.Unlock()

	a := s.safeHandle(w, r, rec, idx)
	rec.InFlight = false
	rec.StatusCode, rec.ErrorCode, rec.ErrorMessage = a.status, a.code, a.msg
	rec.ExecutionARN, rec.Fault = a.arn, a.fault.bare()
	rec.Completed, rec.Replayed = a.completed, a.replayed
	if a.drop {
		rec.StatusCode = 0
	}

	// Record the answer before giving it, so that a caller that has its
	// answer finds it in Requests.
	s.store(idx, rec)

	if a.drop {
		closeConn(w, a.reset)
	} else {
		writeAnswer(w, rec.RequestID, a)
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	}
	if s.opts.OnRequest != nil {
		s.opts.OnRequest(copyRequest(rec))
	}
}

// safeHandle is handle turning a panic into HTTP 500 InternalFailure: no path
// may end in the implicit empty 200 that the SDK would read as a success.
func (s *Server) safeHandle(w http.ResponseWriter, r *http.Request, rec *Request, idx int) (a answer) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				a = answer{drop: true}
				return
			}
			a = errAnswer(http.StatusInternalServerError, CodeInternalFailure, msgInternal)
		}
	}()
	return s.handle(w, r, rec, idx)
}

// store replaces the record of request idx with a copy of rec.
func (s *Server) store(idx int, rec *Request) {
	s.mu.Lock()
	s.requests[idx] = copyRequest(rec)
	s.mu.Unlock()
}

// handle works out the answer to a request, in the order AWS's JSON services
// check things: the HTTP method, the content type, the body's JSON, the
// operation, the signature, the members' types; then the fake's rate limit
// and faults; then the model's constraints; then the step.
func (s *Server) handle(w http.ResponseWriter, r *http.Request, rec *Request, idx int) answer {
	if r.Method != http.MethodPost {
		return errAnswer(http.StatusForbidden, CodeAccessDenied, "Unable to determine service/operation name to be authorized")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return errAnswer(http.StatusRequestEntityTooLarge, CodeRequestTooLarge, "Request is too large.")
		}
		return answer{drop: true} // the client went away
	}
	known := rec.Operation == OpFailure || rec.Operation == OpSuccess
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != contentType {
		if rec.Target == "" {
			return errAnswer(http.StatusForbidden, CodeAccessDenied, "Unable to determine service/operation name to be authorized")
		}
		return errAnswer(http.StatusNotFound, CodeUnknownOperation, "Unknown operation: the Content-Type must be "+contentType)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if !known {
			return unknownOperation(rec.Target)
		}
		return errAnswer(http.StatusBadRequest, CodeSerialization, "The request body is empty: expected a JSON object")
	}
	if !utf8.Valid(body) {
		return errAnswer(http.StatusBadRequest, CodeSerialization, "Invalid UTF-8 in the request body")
	}
	if !json.Valid(body) {
		return errAnswer(http.StatusBadRequest, CodeSerialization, "Could not parse the request body as JSON")
	}
	if !known {
		return unknownOperation(rec.Target)
	}
	if code, msg := checkAuth(r); code != "" {
		return errAnswer(http.StatusBadRequest, code, msg)
	}
	m, msg := decodeMembers(body, rec.Operation)
	if msg != "" {
		return errAnswer(http.StatusBadRequest, CodeSerialization, msg)
	}
	rec.CallbackToken = deref(m.token)
	rec.ClientRequestToken = deref(m.crt)
	rec.FailureReason = m.reason
	rec.OutputParameters = m.outputList()
	s.store(idx, rec) // the members, while the request is in flight

	if h := s.testHook.Load(); h != nil {
		(*h)(rec.Operation)
	}

	s.mu.Lock()
	allowed := s.allow()
	var f Fault
	if allowed {
		f = s.pickFault(rec.Operation, rec.CallbackToken)
	}
	s.mu.Unlock()
	if !allowed {
		return errAnswer(http.StatusBadRequest, CodeThrottling, "Rate exceeded")
	}

	var a answer
	switch f.kind {
	case kindThrottle:
		a = errAnswer(http.StatusBadRequest, CodeThrottling, "Rate exceeded")
	case kindInternal:
		a = errAnswer(http.StatusInternalServerError, CodeInternalFailure, msgInternal)
	case kindUnavailable:
		a = errAnswer(http.StatusServiceUnavailable, CodeServiceUnavailable, "Service is unavailable. Please try again later.")
	case kindLimit:
		a = errAnswer(http.StatusBadRequest, CodeResourceLimitExceeded, "The account-level service limit for pipeline execution callbacks has been exceeded.")
	case kindReset:
		a = answer{drop: true, reset: true}
	case kindDelay:
		if !s.wait(r, f.delay) {
			a = answer{drop: true}
		}
	}
	if a.drop || a.code != "" {
		a.fault = f
		return a
	}

	a = s.process(rec.Operation, &m)
	a.fault = f
	if f.kind == kindDrop {
		a.drop = true
	}
	return a
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
		return false
	case <-r.Context().Done():
		return false
	}
}

func unknownOperation(target string) answer {
	return errAnswer(http.StatusBadRequest, CodeUnknownOperation, "Unknown operation "+strconv.Quote(target))
}

// process checks the members against the model and completes the step.
func (s *Server) process(op string, m *members) answer {
	if msg := m.validationMessage(op); msg != "" {
		return errAnswer(http.StatusBadRequest, CodeValidation, msg)
	}
	token := *m.token

	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.steps[token]
	if m.crt != nil {
		if prev, ok := s.idem[*m.crt]; ok {
			if prev.matches(op, m) {
				if st != nil {
					st.Replays++
				}
				return answer{status: http.StatusOK, arn: prev.arn, replayed: true}
			}
			if st != nil {
				st.Conflicts++
			}
			return errAnswer(http.StatusBadRequest, CodeConflict,
				fmt.Sprintf("ClientRequestToken '%s' was already used with different parameters.", *m.crt))
		}
	}
	if st == nil {
		return errAnswer(http.StatusBadRequest, CodeResourceNotFound,
			fmt.Sprintf("Pipeline execution step with callback token '%s' not found.", token))
	}
	if st.Status != StatusExecuting {
		st.Conflicts++
		return errAnswer(http.StatusBadRequest, CodeConflict,
			fmt.Sprintf("Pipeline execution step with callback token '%s' was already completed with status %s.", token, st.Status))
	}
	if op == OpFailure {
		st.Status = StatusFailed
		st.FailureReason = deref(m.reason)
	} else {
		st.Status = StatusSucceeded
		st.Outputs = m.outputList()
	}
	st.Completions++
	st.Completed = s.opts.Now()
	if m.crt != nil {
		s.idem[*m.crt] = &idemRecord{op: op, token: token, reason: m.reason, outputs: m.outputList(), arn: st.ExecutionARN}
	}
	return answer{status: http.StatusOK, arn: st.ExecutionARN, completed: true}
}

// matches reports whether a request carries the same parameters as the
// completion that left the record.
func (rec *idemRecord) matches(op string, m *members) bool {
	if rec.op != op || rec.token != *m.token {
		return false
	}
	if (rec.reason == nil) != (m.reason == nil) || rec.reason != nil && *rec.reason != *m.reason {
		return false
	}
	outs := m.outputList()
	if len(rec.outputs) != len(outs) {
		return false
	}
	for i := range outs {
		if outs[i] != rec.outputs[i] {
			return false
		}
	}
	return true
}

// writeAnswer writes an HTTP answer as AWS's awsJson1_1 services do.
func writeAnswer(w http.ResponseWriter, requestID string, a answer) {
	var v any
	if a.code != "" {
		v = struct {
			Type    string `json:"__type"`
			Message string `json:"Message"`
		}{a.code, a.msg}
	} else {
		v = struct{ PipelineExecutionArn string }{a.arn}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // cannot fail: strings only
	body := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))

	h := w.Header()
	h.Set("X-Amzn-Requestid", requestID)
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if a.code != "" {
		h.Set("X-Amzn-Errortype", a.code)
	}
	w.WriteHeader(a.status)
	_, _ = w.Write(body)
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

// operationOf returns the operation part of an X-Amz-Target value.
func operationOf(target string) string {
	if op, ok := strings.CutPrefix(target, targetPrefix); ok {
		return op
	}
	if i := strings.LastIndexByte(target, '.'); i >= 0 {
		return target[i+1:]
	}
	return target
}

// parseSDKRequest parses an Amz-Sdk-Request header, "attempt=1; max=3".
func parseSDKRequest(h string) (attempt, maxAttempts int) {
	for _, part := range strings.Split(h, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			continue
		}
		switch strings.TrimSpace(k) {
		case "attempt":
			attempt = n
		case "max":
			maxAttempts = n
		}
	}
	return attempt, maxAttempts
}

// checkAuth checks that a request carries a SigV4 Authorization header scoped
// to the service sagemaker, as AWS checks before it looks at the signature. It
// returns the error code and message AWS answers with, or "" when the header
// passes. It does not verify the signature.
func checkAuth(r *http.Request) (code, msg string) {
	auth := strings.TrimSpace(r.Header.Get("Authorization"))
	if auth == "" {
		return CodeMissingAuthentication, "Missing Authentication Token"
	}
	alg, rest, _ := strings.Cut(auth, " ")
	if alg != "AWS4-HMAC-SHA256" {
		return CodeIncompleteSignature, fmt.Sprintf("Unsupported AWS 'algorithm': '%s' (only AWS4-HMAC-SHA256 for now). ", alg)
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
		return CodeIncompleteSignature, b.String() + "Authorization=" + auth
	}
	cred := strings.TrimRight(params["Credential"], "/")
	parts := strings.Split(cred, "/")
	if len(parts) != 5 {
		return CodeIncompleteSignature, "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '" + cred + "'"
	}
	if parts[3] != "sagemaker" {
		b.WriteString("Credential should be scoped to correct service: 'sagemaker'. ")
	}
	if parts[4] != "aws4_request" {
		b.WriteString("Credential should be scoped with a valid terminator: 'aws4_request', not '" + parts[4] + "'. ")
	}
	if b.Len() > 0 {
		return CodeInvalidSignature, b.String()
	}
	return "", ""
}

// members are the members of a request the operation knows, as decoded.
type members struct {
	token, crt, reason *string
	outputs            []types.OutputParameter
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// outputList returns the output parameters as Outputs (an absent Name or
// Value as "").
func (m *members) outputList() []Output {
	if m.outputs == nil {
		return nil
	}
	out := make([]Output, len(m.outputs))
	for i, p := range m.outputs {
		out[i] = Output{Name: deref(p.Name), Value: deref(p.Value)}
	}
	return out
}

// decodeMembers reads the members of op from a body that is valid JSON. It
// returns a SerializationException message when a member has the wrong JSON
// type. Members the operation does not have are ignored, and null is absent,
// as the service does. Member names are case-sensitive.
func decodeMembers(body []byte, op string) (m members, msg string) {
	var top map[string]json.RawMessage
	if k := kindOf(body); k != '{' {
		return m, notExpected(k, "structure")
	}
	if err := json.Unmarshal(body, &top); err != nil {
		return m, "Could not parse the request body as JSON"
	}
	str := func(name string, dst **string, raw map[string]json.RawMessage) {
		if msg != "" {
			return
		}
		v, ok := raw[name]
		if !ok {
			return
		}
		switch k := kindOf(v); k {
		case 'n':
			return
		case '"':
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				msg = "Could not parse the request body as JSON"
				return
			}
			*dst = &s
		default:
			msg = notExpected(k, "String")
		}
	}
	str("CallbackToken", &m.token, top)
	str("ClientRequestToken", &m.crt, top)
	switch op {
	case OpFailure:
		str("FailureReason", &m.reason, top)
	case OpSuccess:
		v, ok := top["OutputParameters"]
		if !ok || msg != "" {
			break
		}
		switch k := kindOf(v); k {
		case 'n':
		case '[':
			var items []json.RawMessage
			if err := json.Unmarshal(v, &items); err != nil {
				return m, "Could not parse the request body as JSON"
			}
			m.outputs = make([]types.OutputParameter, len(items))
			for i, it := range items {
				if k := kindOf(it); k != '{' {
					return m, notExpected(k, "structure")
				}
				var item map[string]json.RawMessage
				if err := json.Unmarshal(it, &item); err != nil {
					return m, "Could not parse the request body as JSON"
				}
				str("Name", &m.outputs[i].Name, item)
				str("Value", &m.outputs[i].Value, item)
			}
		default:
			msg = notExpected(k, "List")
		}
	}
	return m, msg
}

// kindOf returns the kind of a JSON value by its first byte: '{', '[', '"',
// 'n' (null), 't', 'f', or '0' for a number.
func kindOf(v []byte) byte {
	v = bytes.TrimLeft(v, " \t\r\n")
	if len(v) == 0 {
		return 0
	}
	switch c := v[0]; c {
	case '{', '[', '"', 'n', 't', 'f':
		return c
	}
	return '0'
}

// notExpected returns the SerializationException message for a JSON value of
// kind k where a value of type want was expected, in the words of AWS's JSON
// services.
func notExpected(k byte, want string) string {
	switch k {
	case '{':
		return "Start of structure or map found where not expected."
	case '[':
		return "Start of list found where not expected"
	case '"':
		return "STRING_VALUE can not be converted to a " + want
	case 't':
		return "TRUE_VALUE can not be converted to a " + want
	case 'f':
		return "FALSE_VALUE can not be converted to a " + want
	}
	return "NUMBER_VALUE can not be converted to a " + want
}

// validationMessage checks the members with package validate and returns
// AWS's ValidationException message for the violations, or "" when there
// are none.
func (m *members) validationMessage(op string) string {
	var err error
	if op == OpFailure {
		err = validate.FailureInput(&sagemaker.SendPipelineExecutionStepFailureInput{
			CallbackToken: m.token, ClientRequestToken: m.crt, FailureReason: m.reason,
		})
	} else {
		err = validate.SuccessInput(&sagemaker.SendPipelineExecutionStepSuccessInput{
			CallbackToken: m.token, ClientRequestToken: m.crt, OutputParameters: m.outputs,
		})
	}
	var errs validate.Errors
	if !errors.As(err, &errs) || len(errs) == 0 {
		return ""
	}
	var items []string
	for _, e := range errs {
		path, value := m.lookup(e.Field)
		switch e.Rule {
		case validate.RuleRequired:
			items = append(items, "Value null at '"+path+"' failed to satisfy constraint: Member must not be null")
		case validate.RuleLength, validate.RuleCount:
			limit := "less than or equal to " + strconv.Itoa(e.Max)
			if e.Len < e.Min {
				limit = "greater than or equal to " + strconv.Itoa(e.Min)
			}
			items = append(items, "Value '"+value+"' at '"+path+"' failed to satisfy constraint: Member must have length "+limit)
			// AWS reports every constraint a value breaks; package
			// validate stops at the first.
			if e.Field == validate.CallbackToken.String() && !alnumOnly(value) {
				items = append(items, patternItem(value, path))
			}
		case validate.RulePattern:
			items = append(items, patternItem(value, path))
		default: // RuleUTF8 cannot happen: the body was checked to be UTF-8
			items = append(items, "Value '"+value+"' at '"+path+"' failed to satisfy constraint: Member must be valid UTF-8")
		}
	}
	noun := "errors"
	if len(items) == 1 {
		noun = "error"
	}
	return strconv.Itoa(len(items)) + " validation " + noun + " detected: " + strings.Join(items, "; ")
}

func patternItem(value, path string) string {
	return "Value '" + value + "' at '" + path + "' failed to satisfy constraint: Member must satisfy regular expression pattern: " + validate.CallbackToken.Spec().Pattern
}

// alnumOnly reports whether s matches ^[a-zA-Z0-9]+$.
func alnumOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return s != ""
}

// lookup maps a field of package validate, "OutputParameters[3].Name", to
// AWS's member path, "outputParameters.4.member.name", and returns the value
// there as AWS prints it.
func (m *members) lookup(field string) (path, value string) {
	switch field {
	case "CallbackToken":
		return "callbackToken", deref(m.token)
	case "ClientRequestToken":
		return "clientRequestToken", deref(m.crt)
	case "FailureReason":
		return "failureReason", deref(m.reason)
	case "OutputParameters":
		// Java prints a list of structures by the objects' identities.
		ids := make([]string, len(m.outputs))
		for i, p := range m.outputs {
			h := fnv.New32a()
			_, _ = io.WriteString(h, deref(p.Name)+"\x00"+deref(p.Value))
			ids[i] = fmt.Sprintf("com.amazonaws.sagemaker.OutputParameter@%x", h.Sum32())
		}
		return "outputParameters", "[" + strings.Join(ids, ", ") + "]"
	}
	rest, ok := strings.CutPrefix(field, "OutputParameters[")
	idx, member, ok2 := strings.Cut(rest, "].")
	i, err := strconv.Atoi(idx)
	if !ok || !ok2 || err != nil || i < 0 || i >= len(m.outputs) {
		return field, ""
	}
	p := m.outputs[i]
	path = "outputParameters." + strconv.Itoa(i+1) + ".member."
	switch member {
	case "Name":
		return path + "name", deref(p.Name)
	case "Value":
		return path + "value", deref(p.Value)
	}
	return path + strings.ToLower(member[:1]) + member[1:], ""
}
