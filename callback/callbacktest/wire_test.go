package callbacktest_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
)

// TestWireErrors sends raw HTTP requests that the SDK cannot produce and checks
// the answer: status, the code in both the X-Amzn-Errortype header and the
// body's __type, a message, a fresh request id, and the record.
func TestWireErrors(t *testing.T) {
	const failure = callbacktest.OpFailure
	valid := `{"CallbackToken":"AbCdE12345"}`
	with := func(h http.Header, kv ...string) http.Header {
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				h.Del(kv[i])
			} else {
				h.Set(kv[i], kv[i+1])
			}
		}
		return h
	}
	tests := []struct {
		name    string
		method  string
		header  http.Header
		body    string
		status  int
		code    string
		message string // exact, when not ""
	}{
		{
			name:    "missing Authorization",
			header:  with(signedHeader(failure), "Authorization", ""),
			body:    valid,
			status:  400,
			code:    "MissingAuthenticationTokenException",
			message: "Missing Authentication Token",
		},
		{
			name:    "credential scoped to another service",
			header:  with(signedHeader(failure), "Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=00"),
			body:    valid,
			status:  400,
			code:    "InvalidSignatureException",
			message: "Credential should be scoped to correct service: 'sagemaker'. ",
		},
		{
			name:    "credential with a bad terminator",
			header:  with(signedHeader(failure), "Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/sagemaker/aws4, SignedHeaders=host;x-amz-date, Signature=00"),
			body:    valid,
			status:  400,
			code:    "InvalidSignatureException",
			message: "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws4'. ",
		},
		{
			name:    "credential of four elements",
			header:  with(signedHeader(failure), "Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/sagemaker, SignedHeaders=host;x-amz-date, Signature=00"),
			body:    valid,
			status:  400,
			code:    "IncompleteSignatureException",
			message: "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'AKIDEXAMPLE/20240101/us-east-1/sagemaker'",
		},
		{
			name:   "Authorization without a signature",
			header: with(signedHeader(failure), "Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/sagemaker/aws4_request, SignedHeaders=host"),
			body:   valid,
			status: 400,
			code:   "IncompleteSignatureException",
		},
		{
			name:   "Authorization of another scheme",
			header: with(signedHeader(failure), "Authorization", "Bearer abc"),
			body:   valid,
			status: 400,
			code:   "IncompleteSignatureException",
		},
		{
			name:   "no date",
			header: with(signedHeader(failure), "X-Amz-Date", ""),
			body:   valid,
			status: 400,
			code:   "IncompleteSignatureException",
		},
		{
			name:   "unknown operation",
			header: with(signedHeader(failure), "X-Amz-Target", "SageMaker.SendPipelineExecutionStepMaybe"),
			body:   valid,
			status: 400,
			code:   "UnknownOperationException",
		},
		{
			name:   "another service's operation",
			header: with(signedHeader(failure), "X-Amz-Target", "AmazonSQS.SendMessage"),
			body:   valid,
			status: 400,
			code:   "UnknownOperationException",
		},
		{
			name:   "no target",
			header: with(signedHeader(failure), "X-Amz-Target", ""),
			body:   valid,
			status: 400,
			code:   "UnknownOperationException",
		},
		{
			name:   "wrong content type",
			header: with(signedHeader(failure), "Content-Type", "application/json"),
			body:   valid,
			status: 404,
			code:   "UnknownOperationException",
		},
		{
			name:   "wrong content type and no target",
			header: with(signedHeader(failure), "Content-Type", "text/plain", "X-Amz-Target", ""),
			body:   valid,
			status: 403,
			code:   "AccessDeniedException",
		},
		{
			name:   "GET",
			method: http.MethodGet,
			header: signedHeader(failure),
			status: 403,
			code:   "AccessDeniedException",
		},
		{
			name:   "body not JSON",
			header: signedHeader(failure),
			body:   `CallbackToken=AbCdE12345`,
			status: 400,
			code:   "SerializationException",
		},
		{
			name:   "body truncated",
			header: signedHeader(failure),
			body:   `{"CallbackToken":"AbCdE12345"`,
			status: 400,
			code:   "SerializationException",
		},
		{
			name:   "body not UTF-8",
			header: signedHeader(failure),
			body:   "{\"CallbackToken\":\"AbCdE12345\",\"FailureReason\":\"\xff\xfe\"}",
			status: 400,
			code:   "SerializationException",
		},
		{
			name:   "empty body",
			header: signedHeader(failure),
			status: 400,
			code:   "SerializationException",
		},
		{
			name:   "body a list",
			header: signedHeader(failure),
			body:   `[]`,
			status: 400,
			code:   "SerializationException",
		},
		{
			name:    "token a number",
			header:  signedHeader(failure),
			body:    `{"CallbackToken":1234567890}`,
			status:  400,
			code:    "SerializationException",
			message: "NUMBER_VALUE can not be converted to a String",
		},
		{
			name:    "output parameters an object",
			header:  signedHeader(callbacktest.OpSuccess),
			body:    `{"CallbackToken":"AbCdE12345","OutputParameters":{"Name":"k","Value":"v"}}`,
			status:  400,
			code:    "SerializationException",
			message: "Start of structure or map found where not expected.",
		},
		{
			name:    "an output parameter not a structure",
			header:  signedHeader(callbacktest.OpSuccess),
			body:    `{"CallbackToken":"AbCdE12345","OutputParameters":["k"]}`,
			status:  400,
			code:    "SerializationException",
			message: "STRING_VALUE can not be converted to a structure",
		},
		{
			name:    "an output parameter's value a number",
			header:  signedHeader(callbacktest.OpSuccess),
			body:    `{"CallbackToken":"AbCdE12345","OutputParameters":[{"Name":"k","Value":1}]}`,
			status:  400,
			code:    "SerializationException",
			message: "NUMBER_VALUE can not be converted to a String",
		},
		{
			name:    "a pipeline parameter's name a boolean",
			header:  signedHeader("StartPipelineExecution"),
			body:    `{"PipelineName":"p","ClientRequestToken":"01234567890123456789012345678901","PipelineParameters":[{"Name":true,"Value":"v"}]}`,
			status:  400,
			code:    "SerializationException",
			message: "TRUE_VALUE can not be converted to a String",
		},
		{
			name:    "no token",
			header:  signedHeader(failure),
			body:    `{"FailureReason":"r"}`,
			status:  400,
			code:    "ValidationException",
			message: "1 validation error detected: Value null at 'callbackToken' failed to satisfy constraint: Member must not be null",
		},
		{
			name:    "member names are case-sensitive",
			header:  signedHeader(failure),
			body:    `{"callbackToken":"AbCdE12345"}`,
			status:  400,
			code:    "ValidationException",
			message: "1 validation error detected: Value null at 'callbackToken' failed to satisfy constraint: Member must not be null",
		},
		{
			name:   "output parameter without a name",
			header: signedHeader(callbacktest.OpSuccess),
			body:   `{"CallbackToken":"AbCdE12345","OutputParameters":[{"Name":"a","Value":"b"},{"Value":"v"},{"Name":"c"}]}`,
			status: 400,
			code:   "ValidationException",
			message: "2 validation errors detected: Value null at 'outputParameters.2.member.name' failed to satisfy constraint: Member must not be null; " +
				"Value null at 'outputParameters.3.member.value' failed to satisfy constraint: Member must not be null",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t)
			srv.AddStep("AbCdE12345")
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			resp, body := rawPost(t, srv, method, tc.header, tc.body)
			if resp.StatusCode != tc.status {
				t.Errorf("status = %d, want %d (body %s)", resp.StatusCode, tc.status, body)
			}
			var eb struct {
				Type    string `json:"__type"`
				Message string `json:"Message"`
			}
			if err := json.Unmarshal([]byte(body), &eb); err != nil {
				t.Fatalf("body %q: %v", body, err)
			}
			if h := resp.Header.Get("X-Amzn-Errortype"); h != tc.code || eb.Type != tc.code {
				t.Errorf("X-Amzn-Errortype = %q, __type = %q, want %q", h, eb.Type, tc.code)
			}
			if eb.Message == "" || tc.message != "" && eb.Message != tc.message {
				t.Errorf("Message = %q, want %q", eb.Message, tc.message)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
				t.Errorf("Content-Type = %q", ct)
			}
			r := lastRequest(t, srv)
			if id := resp.Header.Get("X-Amzn-Requestid"); !uuidRE.MatchString(id) || id != r.RequestID {
				t.Errorf("X-Amzn-Requestid = %q, recorded %q", id, r.RequestID)
			}
			if r.StatusCode != tc.status || r.ErrorCode != tc.code || r.ErrorMessage != eb.Message || r.Completed {
				t.Errorf("record = %+v", r)
			}
			if st := mustStep(t, srv, "AbCdE12345"); st.Status != callbacktest.StatusExecuting {
				t.Errorf("step changed: %+v", st)
			}
		})
	}
}

func TestWireSuccess(t *testing.T) {
	srv := newServer(t)
	arn := srv.AddStep("AbCdE12345")
	h := signedHeader(callbacktest.OpSuccess)
	h.Set("Content-Type", "application/x-amz-json-1.1; charset=utf-8") // parameters are allowed
	h.Set("Amz-Sdk-Request", "attempt=2; max=5")
	h.Set("Amz-Sdk-Invocation-Id", "inv-1")
	// Members of the other operation and unknown members are ignored;
	// null is absent.
	resp, body := rawPost(t, srv, http.MethodPost, h, `{"CallbackToken":"AbCdE12345","FailureReason":"ignored","Extra":{"a":[1]},"ClientRequestToken":null,"OutputParameters":[{"Name":"k","Value":"v"}]}`)
	if resp.StatusCode != 200 {
		t.Fatalf("status = %d, body %s", resp.StatusCode, body)
	}
	if body != `{"PipelineExecutionArn":"`+arn+`"}` {
		t.Errorf("body = %s", body)
	}
	if resp.Header.Get("X-Amzn-Errortype") != "" || resp.Header.Get("Content-Type") != "application/x-amz-json-1.1" {
		t.Errorf("header = %v", resp.Header)
	}
	r := lastRequest(t, srv)
	if r.RequestID != resp.Header.Get("X-Amzn-Requestid") || r.Attempt != 2 || r.MaxAttempts != 5 || r.InvocationID != "inv-1" ||
		r.FailureReason != nil || r.ClientRequestToken != "" || len(r.OutputParameters) != 1 || !r.Completed {
		t.Errorf("record = %+v", r)
	}
	if st := mustStep(t, srv, "AbCdE12345"); st.Status != callbacktest.StatusSucceeded || len(st.Outputs) != 1 {
		t.Errorf("step = %+v", st)
	}
}

// TestRequestIDsAreFresh checks that every answer has its own request id.
func TestRequestIDsAreFresh(t *testing.T) {
	srv := newServer(t)
	seen := map[string]bool{}
	for range 20 {
		resp, _ := rawPost(t, srv, http.MethodPost, signedHeader(callbacktest.OpFailure), `{"CallbackToken":"Unknown123"}`)
		id := resp.Header.Get("X-Amzn-Requestid")
		if seen[id] || !uuidRE.MatchString(id) {
			t.Fatalf("request id %q repeated or malformed", id)
		}
		seen[id] = true
	}
}
