package callbacktest_test

import (
	"bufio"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"

	"github.com/stepcallback/sagemaker-callback/callback"
	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
)

// TestTargetMustBeExact checks that only "SageMaker.<Operation>" and
// "AmazonSQS.<Operation>" reach an operation: a wrong prefix, a wrong case or
// a bare name is UnknownOperationException and changes nothing (issue 11,
// finding 1).
func TestTargetMustBeExact(t *testing.T) {
	for _, target := range []string{
		"Foo.SendPipelineExecutionStepFailure",
		"SendPipelineExecutionStepFailure",
		"sagemaker.SendPipelineExecutionStepFailure",
		"SageMaker.sendPipelineExecutionStepFailure",
		"SageMaker.SendPipelineExecutionStepFailure.",
		"AmazonSageMaker.SendPipelineExecutionStepFailure",
	} {
		srv := newServer(t)
		srv.AddStep("AbCdE12345")
		h := signedHeader(callbacktest.OpFailure)
		h.Set("X-Amz-Target", target)
		resp, body := rawPost(t, srv, http.MethodPost, h, `{"CallbackToken":"AbCdE12345"}`)
		if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-Errortype") != "UnknownOperationException" {
			t.Errorf("%s: HTTP %d %s", target, resp.StatusCode, body)
		}
		if st := mustStep(t, srv, "AbCdE12345"); st.Status != callbacktest.StatusExecuting {
			t.Errorf("%s: the step changed: %+v", target, st)
		}
		if r := lastRequest(t, srv); r.Operation != "" || r.Target != target {
			t.Errorf("%s: recorded %+v", target, r)
		}
	}
	for _, target := range []string{"AmazonSQS.sendMessage", "AmazonSQS.TagQueue", "amazonsqs.SendMessage"} {
		srv := newServer(t)
		h := sqsHeader(target, "us-east-1")
		resp, body := rawPost(t, srv, http.MethodPost, h, `{"QueueUrl":"`+srv.QueueURL()+`","MessageBody":"x"}`)
		if resp.StatusCode != 400 && resp.StatusCode != 404 || !strings.Contains(body, "UnknownOperationException") {
			t.Errorf("%s: HTTP %d %s", target, resp.StatusCode, body)
		}
		if n := len(srv.QueueMessages()); n != 0 {
			t.Errorf("%s: %d messages sent", target, n)
		}
	}
}

func sqsHeader(target, region string) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/x-amz-json-1.0")
	h.Set("X-Amz-Target", target)
	h.Set("X-Amz-Date", "20240101T000000Z")
	h.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/"+region+"/sqs/aws4_request, SignedHeaders=host;x-amz-date, Signature=00")
	return h
}

// TestRegionAndAccount checks that Options.Region and Options.AccountID are
// in every ARN and the queue's URL, and that a request signed for another
// region is refused as AWS refuses it (issue 11, finding 2).
func TestRegionAndAccount(t *testing.T) {
	srv := newServer(t, func(o *callbacktest.Options) { o.Region, o.AccountID = "eu-west-1", "210987654321" })
	const arnPrefix = "arn:aws:sagemaker:eu-west-1:210987654321:pipeline/callbacktest/execution/"
	if arn := srv.AddStep("AbCdE12345"); !strings.HasPrefix(arn, arnPrefix) {
		t.Errorf("AddStep's ARN %s", arn)
	}
	token, arn := srv.StartStep(nil)
	if !strings.HasPrefix(arn, arnPrefix) || !strings.HasSuffix(srv.QueueURL(), "/210987654321/callbacktest") {
		t.Errorf("StartStep's ARN %s, queue %s", arn, srv.QueueURL())
	}
	m := receiveOne(t, srv, sqs.ReceiveMessageInput{})
	msg, err := callback.ParseMessage([]byte(aws.ToString(m.Body)))
	if err != nil || msg.ExecutionARN.String() != arn {
		t.Errorf("step message %s: %v", aws.ToString(m.Body), err)
	}
	out, err := sendFailure(t, srv, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(token)})
	if err != nil || aws.ToString(out.PipelineExecutionArn) != arn {
		t.Fatalf("Client() in the server's region: %v", err)
	}

	other := sagemaker.New(sagemaker.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL()), Retryer: aws.NopRetryer{},
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
	})
	_, err = other.SendPipelineExecutionStepFailure(ctxT(t), &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String("AbCdE12345")})
	checkAPIError(t, srv, err, "InvalidSignatureException", 400)
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorMessage() != "Credential should be scoped to a valid region, not 'us-east-1'. " {
		t.Errorf("message %q", ae.ErrorMessage())
	}
	if st := mustStep(t, srv, "AbCdE12345"); st.Status != callbacktest.StatusExecuting {
		t.Errorf("a request for another region changed the step: %+v", st)
	}
	otherSQS := sqs.New(sqs.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL()), Retryer: aws.NopRetryer{},
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
	})
	_, err = otherSQS.SendMessage(ctxT(t), &sqs.SendMessageInput{QueueUrl: aws.String(srv.QueueURL()), MessageBody: aws.String("x")})
	checkSQSError(t, err, "SignatureDoesNotMatch", 400)
}

// TestStalledRequestIsCut checks that a client stalling in the middle of its
// header or body is cut off after Options.ReadTimeout (issue 11, finding 3).
func TestStalledRequestIsCut(t *testing.T) {
	srv := newServer(t, func(o *callbacktest.Options) { o.ReadTimeout = 200 * time.Millisecond })
	srv.AddStep("AbCdE12345")
	for name, partial := range map[string]string{
		"header": "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Tar",
		"body": "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.1\r\n" +
			"X-Amz-Target: SageMaker.SendPipelineExecutionStepFailure\r\nContent-Length: 100\r\n\r\n{\"CallbackToken\":\"AbC",
	} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL(), "http://"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(conn, partial); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		start := time.Now()
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Errorf("%s: the connection was still open after 10s", name)
		}
		if err == nil && resp.StatusCode/100 == 2 {
			t.Errorf("%s: answered %s", name, resp.Status)
		}
		t.Logf("%s: cut after %v (%v)", name, time.Since(start).Round(time.Millisecond), err)
		conn.Close()
	}
	if st := mustStep(t, srv, "AbCdE12345"); st.Status != callbacktest.StatusExecuting {
		t.Errorf("step changed: %+v", st)
	}
	// A long poll outlives the read timeout.
	fast := newServer(t, func(o *callbacktest.Options) {
		o.ReadTimeout = 300 * time.Millisecond
		o.Queue.Second = 100 * time.Millisecond
	})
	go func() {
		time.Sleep(time.Second)
		fast.SendQueueMessage("late")
	}()
	receiveOne(t, fast, sqs.ReceiveMessageInput{WaitTimeSeconds: 20})
}

// queryPost sends a request of SQS's query protocol, signed for us-east-1.
func queryPost(t *testing.T, srv *callbacktest.Server, form url.Values) (*http.Response, string) {
	t.Helper()
	h := sqsHeader("", "us-east-1")
	h.Del("X-Amz-Target")
	h.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	form.Set("Version", "2012-11-05")
	return rawPost(t, srv, http.MethodPost, h, form.Encode())
}

// queryResponse is what the tests read of the XML answers.
type queryResponse struct {
	XMLName   xml.Name
	MessageID string `xml:"SendMessageResult>MessageId"`
	MD5       string `xml:"SendMessageResult>MD5OfMessageBody"`
	QueueURL  string `xml:"GetQueueUrlResult>QueueUrl"`
	Messages  []struct {
		MessageID     string `xml:"MessageId"`
		ReceiptHandle string
		Body          string
		Attributes    []struct{ Name, Value string } `xml:"Attribute"`
	} `xml:"ReceiveMessageResult>Message"`
	RequestID string `xml:"ResponseMetadata>RequestId"`
	Error     struct{ Type, Code, Message string }
	ErrorID   string `xml:"RequestId"`
}

func query(t *testing.T, srv *callbacktest.Server, form url.Values, status int) queryResponse {
	t.Helper()
	resp, body := queryPost(t, srv, form)
	return parseQuery(t, resp, body, status)
}

func parseQuery(t *testing.T, resp *http.Response, body string, status int) queryResponse {
	t.Helper()
	var q queryResponse
	if err := xml.Unmarshal([]byte(body), &q); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	if resp.StatusCode != status || resp.Header.Get("Content-Type") != "text/xml" {
		t.Fatalf("HTTP %d %s, want %d: %s", resp.StatusCode, resp.Header.Get("Content-Type"), status, body)
	}
	id := resp.Header.Get("X-Amzn-Requestid")
	if id == "" || id != q.RequestID && id != q.ErrorID {
		t.Errorf("request id %q, body %s", id, body)
	}
	return q
}

// TestQueryProtocol drives every SQS operation in SQS's query protocol, as
// the AWS CLI of Debian and older SDKs speak it (issue 11, finding 4; the CLI
// itself is driven in examples/localserver's tests).
func TestQueryProtocol(t *testing.T) {
	srv := newServer(t)
	q := query(t, srv, url.Values{"Action": {"GetQueueUrl"}, "QueueName": {"callbacktest"}}, 200)
	if q.XMLName.Local != "GetQueueUrlResponse" || q.QueueURL != srv.QueueURL() {
		t.Errorf("GetQueueUrl: %+v", q)
	}
	body := "line 1\nline <2> & \"3\" é"
	q = query(t, srv, url.Values{"Action": {"SendMessage"}, "QueueUrl": {srv.QueueURL()}, "MessageBody": {body}}, 200)
	if q.XMLName.Local != "SendMessageResponse" || q.MessageID == "" || len(q.MD5) != 32 {
		t.Errorf("SendMessage: %+v", q)
	}
	sent := q.MessageID
	resp, raw := queryPost(t, srv, url.Values{"Action": {"ReceiveMessage"}, "QueueUrl": {srv.QueueURL()}, "AttributeName.1": {"All"}, "MaxNumberOfMessages": {"10"}, "VisibilityTimeout": {"60"}})
	q = parseQuery(t, resp, raw, 200)
	if len(q.Messages) != 1 || q.Messages[0].Body != body || q.Messages[0].MessageID != sent || len(q.Messages[0].Attributes) != 4 {
		t.Fatalf("ReceiveMessage: %s", raw)
	}
	handle := q.Messages[0].ReceiptHandle
	q = query(t, srv, url.Values{"Action": {"ChangeMessageVisibility"}, "QueueUrl": {srv.QueueURL()}, "ReceiptHandle": {handle}, "VisibilityTimeout": {"0"}}, 200)
	if q.XMLName.Local != "ChangeMessageVisibilityResponse" {
		t.Errorf("ChangeMessageVisibility: %+v", q)
	}
	if st := srv.QueueMessages()[0]; st.State != callbacktest.MessageVisible {
		t.Errorf("after ChangeMessageVisibility 0: %+v", st)
	}
	q = query(t, srv, url.Values{"Action": {"ReceiveMessage"}, "QueueUrl": {srv.QueueURL()}}, 200)
	if len(q.Messages) != 1 || len(q.Messages[0].Attributes) != 0 {
		t.Fatalf("second ReceiveMessage: %+v", q)
	}
	q = query(t, srv, url.Values{"Action": {"DeleteMessage"}, "QueueUrl": {srv.QueueURL()}, "ReceiptHandle": {q.Messages[0].ReceiptHandle}}, 200)
	if q.XMLName.Local != "DeleteMessageResponse" || srv.QueueMessages()[0].State != callbacktest.MessageDeleted {
		t.Errorf("DeleteMessage: %+v", q)
	}

	// Sent to the queue's URL, without QueueUrl, as the Java SDK v1 does.
	h := sqsHeader("", "us-east-1")
	h.Del("X-Amz-Target")
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	req, _ := http.NewRequest(http.MethodPost, srv.QueueURL(), strings.NewReader("Action=SendMessage&Version=2012-11-05&MessageBody=to+the+queue"))
	req.Header = h
	resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if msgs := srv.QueueMessages(); resp.StatusCode != 200 || msgs[len(msgs)-1].Body != "to the queue" {
		t.Errorf("SendMessage to the queue's URL: HTTP %d", resp.StatusCode)
	}

	for _, tc := range []struct {
		form url.Values
		code string
	}{
		{url.Values{"Action": {"ReceiveMessage"}, "QueueUrl": {srv.URL() + "/123456789012/other"}}, "AWS.SimpleQueueService.NonExistentQueue"},
		{url.Values{"Action": {"ReceiveMessage"}, "QueueUrl": {srv.QueueURL()}, "MaxNumberOfMessages": {"11"}}, "InvalidParameterValue"},
		{url.Values{"Action": {"ReceiveMessage"}, "QueueUrl": {srv.QueueURL()}, "WaitTimeSeconds": {"soon"}}, "InvalidParameterValue"},
		{url.Values{"Action": {"DeleteMessage"}, "QueueUrl": {srv.QueueURL()}, "ReceiptHandle": {"AQEBnope"}}, "ReceiptHandleIsInvalid"},
		{url.Values{"Action": {"ChangeMessageVisibility"}, "QueueUrl": {srv.QueueURL()}, "ReceiptHandle": {handle}, "VisibilityTimeout": {"5"}}, "InvalidParameterValue"},
		{url.Values{"Action": {"SendMessage"}, "QueueUrl": {srv.QueueURL()}}, "MissingParameter"},
		{url.Values{"Action": {"TagQueue"}, "QueueUrl": {srv.QueueURL()}}, "InvalidAction"},
		{url.Values{"QueueUrl": {srv.QueueURL()}}, "InvalidAction"},
	} {
		q := query(t, srv, tc.form, 400)
		if q.XMLName.Local != "ErrorResponse" || q.Error.Type != "Sender" || q.Error.Code != tc.code || q.Error.Message == "" {
			t.Errorf("%v: %+v, want %s", tc.form, q, tc.code)
		}
	}
	if n := len(srv.SQSRequests()); n != 15 {
		t.Errorf("%d SQS requests recorded, want 15", n)
	}
	if r := srv.SQSRequests()[0]; r.Operation != callbacktest.OpGetQueueURL || r.StatusCode != 200 {
		t.Errorf("first record %+v", r)
	}
	if r := srv.SQSRequests()[14]; r.Operation != "" || r.ErrorCode != "InvalidAction" {
		t.Errorf("last record %+v", r)
	}
}

// TestMaxRecords checks that Options.MaxRecords bounds what the server keeps
// (issue 11, finding 7), and that by default everything is kept.
func TestMaxRecords(t *testing.T) {
	for _, max := range []int{0, 5} {
		srv := newServer(t, func(o *callbacktest.Options) { o.MaxRecords = max })
		const n = 40
		for range n {
			token, _ := srv.StartStep(nil)
			m := receiveOne(t, srv, sqs.ReceiveMessageInput{})
			if _, err := sendFailure(t, srv, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(token)}); err != nil {
				t.Fatal(err)
			}
			if err := deleteMessage(t, srv, m.ReceiptHandle); err != nil {
				t.Fatal(err)
			}
		}
		reqs, sqsReqs, msgs := srv.Requests(), srv.SQSRequests(), srv.QueueMessages()
		if max == 0 {
			if len(reqs) != n || len(sqsReqs) != 2*n || len(msgs) != n {
				t.Errorf("unbounded: %d requests, %d SQS requests, %d messages", len(reqs), len(sqsReqs), len(msgs))
			}
			continue
		}
		if len(reqs) != max || len(sqsReqs) != max || len(msgs) > 2*max {
			t.Errorf("MaxRecords %d: %d requests, %d SQS requests, %d messages", max, len(reqs), len(sqsReqs), len(msgs))
		}
		if last := reqs[len(reqs)-1]; !last.Completed {
			t.Errorf("the last request kept is not the latest: %+v", last)
		}
		if st := srv.QueueStats(); st.Sent != n || st.DeleteCalls != n {
			t.Errorf("stats %+v", st)
		}
		if len(srv.Steps()) != n {
			t.Errorf("steps were dropped")
		}
	}
}

// TestFaultForMessage checks faults aimed at one message and one SQS
// operation, a hung DeleteMessage among them, and the list of SQS requests
// (issue 10, item 6).
func TestFaultForMessage(t *testing.T) {
	srv := newServer(t)
	a, b := srv.SendQueueMessage("a"), srv.SendQueueMessage("b")
	hung := callbacktest.Delay(time.Hour).ForMessage(a).ForOperation(callbacktest.OpDeleteMessage)
	srv.FailNext(1, hung)
	msgs := receive(t, srv, sqs.ReceiveMessageInput{MaxNumberOfMessages: 10, VisibilityTimeout: 600})
	if len(msgs) != 2 {
		t.Fatalf("received %d", len(msgs))
	}
	ctx, cancel := context.WithTimeout(ctxT(t), 200*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := srv.SQSClient().DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(srv.QueueURL()), ReceiptHandle: msgs[0].ReceiptHandle}, sqsNoRetry)
		done <- err
	}()
	waitFor(t, "the hung delete in flight", func() bool { return len(srv.SQSRequests()) == 2 })
	// The other message's delete is not held.
	if err := deleteMessage(t, srv, msgs[1].ReceiptHandle); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hung delete: %v", err)
	}
	if qm := queueMessage(t, srv, a); qm.State != callbacktest.MessageInFlight {
		t.Errorf("the hung delete deleted: %+v", qm)
	}
	if qm := queueMessage(t, srv, b); qm.State != callbacktest.MessageDeleted {
		t.Errorf("%+v", qm)
	}

	// A receive meets a fault aimed at the message it would hand out first.
	c := srv.SendQueueMessage("c")
	srv.FailNext(1, callbacktest.Throttle.ForMessage(a)) // a is in flight: not first
	srv.FailNext(1, callbacktest.DropAfterCommit.ForMessage(c))
	if _, err := srv.SQSClient().ReceiveMessage(ctxT(t), &sqs.ReceiveMessageInput{QueueUrl: aws.String(srv.QueueURL())}, sqsNoRetry); err == nil {
		t.Fatal("a dropped receive gave no error")
	}
	if qm := queueMessage(t, srv, c); qm.State != callbacktest.MessageInFlight || qm.ReceiveCount != 1 {
		t.Errorf("dropped receive: %+v", qm)
	}

	var recs []string
	for _, r := range srv.SQSRequests() {
		recs = append(recs, r.Operation+" "+r.Fault.String()+" "+strings.Join(r.MessageIDs, ","))
	}
	want := []string{
		"ReceiveMessage none " + a + "," + b,
		"DeleteMessage Delay(1h0m0s) ",
		"DeleteMessage none " + b,
		"ReceiveMessage DropAfterCommit " + c,
	}
	if strings.Join(recs, "\n") != strings.Join(want, "\n") {
		t.Errorf("SQS requests:\n%s\nwant\n%s", strings.Join(recs, "\n"), strings.Join(want, "\n"))
	}
	if len(srv.Requests()) != 0 {
		t.Errorf("Requests lists SQS requests: %+v", srv.Requests())
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestHungReceive checks a ReceiveMessage held by a long Delay, as a
// half-open connection holds it: the client gives up at its deadline,
// nothing is handed out, and the next receive gets the message.
func TestHungReceive(t *testing.T) {
	srv := newServer(t)
	id := srv.SendQueueMessage("m")
	srv.FailNext(1, callbacktest.Delay(time.Hour).ForOperation(callbacktest.OpReceiveMessage))
	ctx, cancel := context.WithTimeout(ctxT(t), 100*time.Millisecond)
	defer cancel()
	_, err := srv.SQSClient().ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(srv.QueueURL())}, sqsNoRetry)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hung receive: %v", err)
	}
	if r := srv.SQSRequests()[0]; r.Fault != callbacktest.Delay(time.Hour) || r.StatusCode != 0 {
		t.Errorf("record %+v", r)
	}
	if m := receiveOne(t, srv, sqs.ReceiveMessageInput{}); aws.ToString(m.MessageId) != id {
		t.Errorf("received %s", aws.ToString(m.MessageId))
	}
}
