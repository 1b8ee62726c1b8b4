package callbacktest_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/stepcallback/sagemaker-callback/callback"
	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
)

// fastQueue makes one SQS second last 10ms.
func fastQueue(o *callbacktest.Options) { o.Queue.Second = 10 * time.Millisecond }

func sqsNoRetry(o *sqs.Options) { o.Retryer = aws.NopRetryer{} }

func send(t *testing.T, srv *callbacktest.Server, body string) string {
	t.Helper()
	out, err := srv.SQSClient().SendMessage(ctxT(t), &sqs.SendMessageInput{QueueUrl: aws.String(srv.QueueURL()), MessageBody: aws.String(body)})
	if err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	return aws.ToString(out.MessageId)
}

func receive(t *testing.T, srv *callbacktest.Server, in sqs.ReceiveMessageInput) []types.Message {
	t.Helper()
	in.QueueUrl = aws.String(srv.QueueURL())
	in.MessageSystemAttributeNames = []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll}
	out, err := srv.SQSClient().ReceiveMessage(ctxT(t), &in)
	if err != nil {
		t.Fatalf("ReceiveMessage: %v", err)
	}
	return out.Messages
}

func receiveOne(t *testing.T, srv *callbacktest.Server, in sqs.ReceiveMessageInput) types.Message {
	t.Helper()
	msgs := receive(t, srv, in)
	if len(msgs) != 1 {
		t.Fatalf("received %d messages, want 1", len(msgs))
	}
	return msgs[0]
}

func deleteMessage(t *testing.T, srv *callbacktest.Server, handle *string) error {
	t.Helper()
	_, err := srv.SQSClient().DeleteMessage(ctxT(t), &sqs.DeleteMessageInput{QueueUrl: aws.String(srv.QueueURL()), ReceiptHandle: handle}, sqsNoRetry)
	return err
}

func changeVisibility(t *testing.T, srv *callbacktest.Server, handle *string, secs int32) error {
	t.Helper()
	_, err := srv.SQSClient().ChangeMessageVisibility(ctxT(t), &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(srv.QueueURL()), ReceiptHandle: handle, VisibilityTimeout: secs}, sqsNoRetry)
	return err
}

func checkSQSError(t *testing.T, err error, code string, status int) {
	t.Helper()
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != code {
		t.Fatalf("error = %v, want code %s", err, code)
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != status || re.ServiceRequestID() == "" {
		t.Fatalf("error = %v, want HTTP %d with a request id", err, status)
	}
}

func queueMessage(t *testing.T, srv *callbacktest.Server, id string) callbacktest.QueueMessage {
	t.Helper()
	for _, m := range srv.QueueMessages() {
		if m.MessageID == id {
			return m
		}
	}
	t.Fatalf("message %s not on the queue", id)
	return callbacktest.QueueMessage{}
}

func TestSQSRoundTrip(t *testing.T) {
	srv := newServer(t)
	id := send(t, srv, `{"hello":"wörld"}`)
	m := receiveOne(t, srv, sqs.ReceiveMessageInput{MaxNumberOfMessages: 10})
	if aws.ToString(m.MessageId) != id || aws.ToString(m.Body) != `{"hello":"wörld"}` {
		t.Errorf("got %s %q", aws.ToString(m.MessageId), aws.ToString(m.Body))
	}
	if m.Attributes["ApproximateReceiveCount"] != "1" || m.Attributes["SentTimestamp"] == "" {
		t.Errorf("attributes %v", m.Attributes)
	}
	if !strings.HasPrefix(aws.ToString(m.ReceiptHandle), "AQEB") {
		t.Errorf("receipt handle %q", aws.ToString(m.ReceiptHandle))
	}
	if got := receive(t, srv, sqs.ReceiveMessageInput{}); len(got) != 0 {
		t.Errorf("an in-flight message was received again")
	}
	if err := deleteMessage(t, srv, m.ReceiptHandle); err != nil {
		t.Fatal(err)
	}
	if err := deleteMessage(t, srv, m.ReceiptHandle); err != nil {
		t.Errorf("deleting again: %v, want no error", err)
	}
	qm := queueMessage(t, srv, id)
	if qm.State != callbacktest.MessageDeleted || qm.ReceiveCount != 1 || qm.Deleted.IsZero() {
		t.Errorf("queue message %+v", qm)
	}
	st := srv.QueueStats()
	if st.Sent != 1 || st.Deleted != 1 || st.Receives != 1 || st.ReceiveCalls != 2 || st.EmptyReceives != 1 || st.DeleteCalls != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestSQSBatchAndOrder(t *testing.T) {
	srv := newServer(t)
	var ids []string
	for i := range 12 {
		ids = append(ids, send(t, srv, "m"+strconv.Itoa(i)))
	}
	got := receive(t, srv, sqs.ReceiveMessageInput{MaxNumberOfMessages: 10})
	if len(got) != 10 {
		t.Fatalf("got %d, want 10", len(got))
	}
	for i, m := range got {
		if aws.ToString(m.MessageId) != ids[i] {
			t.Errorf("message %d out of order", i)
		}
	}
	if got := receive(t, srv, sqs.ReceiveMessageInput{MaxNumberOfMessages: 10}); len(got) != 2 {
		t.Errorf("got %d, want the 2 left", len(got))
	}
	if st := srv.QueueStats(); st.InFlight != 12 || st.Visible != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestSQSLongPoll(t *testing.T) {
	srv := newServer(t, fastQueue)

	// An empty long poll lasts WaitTimeSeconds (here 5 × 10ms).
	start := time.Now()
	if got := receive(t, srv, sqs.ReceiveMessageInput{WaitTimeSeconds: 5}); len(got) != 0 {
		t.Fatal("received from an empty queue")
	}
	if d := time.Since(start); d < 50*time.Millisecond || d > 2*time.Second {
		t.Errorf("empty long poll took %v, want about 50ms", d)
	}

	// A send wakes a long poll at once.
	srv2 := newServer(t) // real seconds: a 20s poll must end early
	done := make(chan []types.Message)
	go func() {
		out, err := srv2.SQSClient().ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(srv2.QueueURL()), WaitTimeSeconds: 20})
		if err != nil {
			t.Error(err)
			done <- nil
			return
		}
		done <- out.Messages
	}()
	time.Sleep(20 * time.Millisecond)
	start = time.Now()
	srv2.SendQueueMessage("wake up")
	select {
	case got := <-done:
		if len(got) != 1 || aws.ToString(got[0].Body) != "wake up" {
			t.Errorf("got %v", got)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("woke after %v", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the long poll was not woken by a send")
	}
}

func TestSQSCloseEndsLongPoll(t *testing.T) {
	srv := callbacktest.NewServer()
	done := make(chan error)
	go func() {
		_, err := srv.SQSClient().ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(srv.QueueURL()), WaitTimeSeconds: 20}, sqsNoRetry)
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	srv.Close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end the long poll")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v", d)
	}
}

func TestSQSClientGoneDuringLongPoll(t *testing.T) {
	srv := newServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := srv.SQSClient().ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(srv.QueueURL()), WaitTimeSeconds: 20})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	// The poll that was abandoned must not take the next message.
	time.Sleep(20 * time.Millisecond)
	srv.SendQueueMessage("x")
	receiveOne(t, srv, sqs.ReceiveMessageInput{WaitTimeSeconds: 1})
}

func TestSQSRedeliveryAndStaleHandle(t *testing.T) {
	srv := newServer(t, fastQueue)
	id := send(t, srv, "work")
	first := receiveOne(t, srv, sqs.ReceiveMessageInput{VisibilityTimeout: 2})
	if got := receive(t, srv, sqs.ReceiveMessageInput{}); len(got) != 0 {
		t.Fatal("received while in flight")
	}
	// After 2 × 10ms it is visible again; a long poll waits for that.
	second := receiveOne(t, srv, sqs.ReceiveMessageInput{WaitTimeSeconds: 20, VisibilityTimeout: 100})
	if second.Attributes["ApproximateReceiveCount"] != "2" {
		t.Errorf("ApproximateReceiveCount = %s", second.Attributes["ApproximateReceiveCount"])
	}
	if aws.ToString(second.ReceiptHandle) == aws.ToString(first.ReceiptHandle) {
		t.Fatal("the same receipt handle twice")
	}

	// The first handle is stale: deleting with it succeeds and deletes nothing.
	if err := deleteMessage(t, srv, first.ReceiptHandle); err != nil {
		t.Fatalf("stale delete: %v", err)
	}
	qm := queueMessage(t, srv, id)
	if qm.State != callbacktest.MessageInFlight || qm.StaleDeletes != 1 || qm.ReceiveCount != 2 {
		t.Fatalf("after a stale delete: %+v", qm)
	}
	// Nor can it change the visibility.
	checkSQSError(t, changeVisibility(t, srv, first.ReceiptHandle, 0), "InvalidParameterValue", 400)

	if err := deleteMessage(t, srv, second.ReceiptHandle); err != nil {
		t.Fatal(err)
	}
	if qm := queueMessage(t, srv, id); qm.State != callbacktest.MessageDeleted {
		t.Fatalf("after delete: %+v", qm)
	}
	if st := srv.QueueStats(); st.StaleDeletes != 1 || st.Deleted != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestSQSChangeVisibility(t *testing.T) {
	srv := newServer(t, fastQueue)
	id := send(t, srv, "work")
	m := receiveOne(t, srv, sqs.ReceiveMessageInput{VisibilityTimeout: 5})

	// Extended to 30 × 10ms: not visible after the first 5.
	if err := changeVisibility(t, srv, m.ReceiptHandle, 30); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if got := receive(t, srv, sqs.ReceiveMessageInput{}); len(got) != 0 {
		t.Fatal("an extended message was received again")
	}
	// 0 makes it visible at once.
	if err := changeVisibility(t, srv, m.ReceiptHandle, 0); err != nil {
		t.Fatal(err)
	}
	m2 := receiveOne(t, srv, sqs.ReceiveMessageInput{VisibilityTimeout: 1})

	// Once its visibility ran out, a change with the latest handle is
	// accepted and does nothing (as SQS).
	time.Sleep(30 * time.Millisecond)
	if err := changeVisibility(t, srv, m2.ReceiptHandle, 100); err != nil {
		t.Fatalf("change after expiry: %v", err)
	}
	if qm := queueMessage(t, srv, id); qm.State != callbacktest.MessageVisible {
		t.Fatalf("after a change on an expired handle: %+v", qm)
	}
	m3 := receiveOne(t, srv, sqs.ReceiveMessageInput{})
	if err := deleteMessage(t, srv, m3.ReceiptHandle); err != nil {
		t.Fatal(err)
	}
	// A deleted message's handle.
	checkSQSError(t, changeVisibility(t, srv, m3.ReceiptHandle, 10), "InvalidParameterValue", 400)
	// A handle the queue never issued.
	err := changeVisibility(t, srv, aws.String("AQEBnotahandle"), 10)
	var invalid *types.ReceiptHandleIsInvalid
	if !errors.As(err, &invalid) {
		t.Fatalf("err = %v, want *types.ReceiptHandleIsInvalid", err)
	}
	checkSQSError(t, err, "ReceiptHandleIsInvalid", 400)
	err = deleteMessage(t, srv, aws.String("AQEBnotahandle"))
	if !errors.As(err, &invalid) {
		t.Fatalf("delete: err = %v, want *types.ReceiptHandleIsInvalid", err)
	}
	checkSQSError(t, changeVisibility(t, srv, m3.ReceiptHandle, 43201), "InvalidParameterValue", 400)
}

func TestSQSErrors(t *testing.T) {
	srv := newServer(t)
	c := srv.SQSClient()
	ctx := ctxT(t)
	_, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(srv.URL() + "/123456789012/other")}, sqsNoRetry)
	var noQueue *types.QueueDoesNotExist
	if !errors.As(err, &noQueue) {
		t.Fatalf("err = %v, want *types.QueueDoesNotExist", err)
	}
	checkSQSError(t, err, "AWS.SimpleQueueService.NonExistentQueue", 400)
	if noQueue.ErrorMessage() != "The specified queue does not exist." {
		t.Errorf("message %q", noQueue.ErrorMessage())
	}

	_, err = c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(srv.QueueURL()), MaxNumberOfMessages: 11}, sqsNoRetry)
	checkSQSError(t, err, "InvalidParameterValue", 400)
	_, err = c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(srv.QueueURL()), WaitTimeSeconds: 21}, sqsNoRetry)
	checkSQSError(t, err, "InvalidParameterValue", 400)
	_, err = c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(srv.QueueURL()), MessageBody: aws.String("a\x00b")}, sqsNoRetry)
	var contents *types.InvalidMessageContents
	if !errors.As(err, &contents) {
		t.Fatalf("err = %v, want *types.InvalidMessageContents", err)
	}
	_, err = c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(srv.QueueURL()), MessageBody: aws.String("")}, sqsNoRetry)
	checkSQSError(t, err, "MissingParameter", 400)

	out, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("callbacktest")})
	if err != nil || aws.ToString(out.QueueUrl) != srv.QueueURL() {
		t.Fatalf("GetQueueUrl = %v, %v", out, err)
	}
	_, err = c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("nope")})
	if !errors.As(err, &noQueue) {
		t.Fatalf("err = %v, want *types.QueueDoesNotExist", err)
	}
	// The queue's own account finds it; another account has no queues (the
	// fake found the queue of that name in its own).
	out, err = c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("callbacktest"), QueueOwnerAWSAccountId: aws.String("123456789012")})
	if err != nil || aws.ToString(out.QueueUrl) != srv.QueueURL() {
		t.Fatalf("GetQueueUrl of the own account = %v, %v", out, err)
	}
	_, err = c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("callbacktest"), QueueOwnerAWSAccountId: aws.String("999999999999")})
	if !errors.As(err, &noQueue) {
		t.Fatalf("GetQueueUrl of another account: err = %v, want *types.QueueDoesNotExist", err)
	}
	if len(srv.Requests()) != 0 {
		t.Errorf("SQS calls were recorded as SageMaker requests")
	}
}

// A request for an SQS operation in SageMaker's JSON 1.1 stays with the fake
// SageMaker, which does not know it.
func TestSQSTargetWithOtherContentType(t *testing.T) {
	srv := newServer(t)
	req, _ := http.NewRequest(http.MethodPost, srv.URL(), strings.NewReader(`{}`))
	req.Header.Set("X-Amz-Target", "AmazonSQS.ReceiveMessage")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-Errortype") != "UnknownOperationException" {
		t.Errorf("HTTP %d %s", resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"))
	}
	http.DefaultClient.CloseIdleConnections()
}

func TestSQSRedrive(t *testing.T) {
	srv := newServer(t, fastQueue, func(o *callbacktest.Options) { o.Queue.MaxReceiveCount = 2 })
	id := srv.SendQueueMessage("poison")
	for i := 1; i <= 2; i++ {
		m := receiveOne(t, srv, sqs.ReceiveMessageInput{WaitTimeSeconds: 20, VisibilityTimeout: 1})
		if m.Attributes["ApproximateReceiveCount"] != strconv.Itoa(i) {
			t.Errorf("receive %d: count %s", i, m.Attributes["ApproximateReceiveCount"])
		}
	}
	time.Sleep(30 * time.Millisecond)
	if got := receive(t, srv, sqs.ReceiveMessageInput{WaitTimeSeconds: 3}); len(got) != 0 {
		t.Fatal("received a third time")
	}
	if qm := queueMessage(t, srv, id); qm.State != callbacktest.MessageDeadLettered {
		t.Errorf("state %+v", qm)
	}
	if st := srv.QueueStats(); st.DeadLettered != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestSQSDelay(t *testing.T) {
	srv := newServer(t, fastQueue)
	_, err := srv.SQSClient().SendMessage(ctxT(t), &sqs.SendMessageInput{QueueUrl: aws.String(srv.QueueURL()), MessageBody: aws.String("later"), DelaySeconds: 5})
	if err != nil {
		t.Fatal(err)
	}
	if st := srv.QueueStats(); st.Delayed != 1 {
		t.Errorf("stats %+v", st)
	}
	if got := receive(t, srv, sqs.ReceiveMessageInput{}); len(got) != 0 {
		t.Fatal("received a delayed message")
	}
	receiveOne(t, srv, sqs.ReceiveMessageInput{WaitTimeSeconds: 20})
}

func TestSQSFaults(t *testing.T) {
	srv := newServer(t)
	// A fault with no aim is for the SageMaker operations only.
	srv.FailNext(1, callbacktest.Throttle)
	id := send(t, srv, "x")
	m := receiveOne(t, srv, sqs.ReceiveMessageInput{})

	srv.FailNext(1, callbacktest.Throttle.ForOperation(callbacktest.OpDeleteMessage))
	err := deleteMessage(t, srv, m.ReceiptHandle)
	var throttled *types.RequestThrottled
	if !errors.As(err, &throttled) {
		t.Fatalf("err = %v, want *types.RequestThrottled", err)
	}
	srv.FailNext(1, callbacktest.DropAfterCommit.ForOperation("AmazonSQS.DeleteMessage"))
	if err := deleteMessage(t, srv, m.ReceiptHandle); err == nil {
		t.Fatal("a dropped answer gave no error")
	}
	if qm := queueMessage(t, srv, id); qm.State != callbacktest.MessageDeleted {
		t.Fatalf("DropAfterCommit: %+v", qm)
	}
	// The unaimed throttle is still queued for SageMaker.
	token, _ := srv.NewStep()
	_, err = sendFailure(t, srv, &sagemaker.SendPipelineExecutionStepFailureInput{CallbackToken: aws.String(token)}, noRetry)
	checkAPIError(t, srv, err, "ThrottlingException", 400)

	// SDK retries get past a fault.
	srv.FailNext(2, callbacktest.InternalError.ForOperation(callbacktest.OpSendMessage))
	send(t, srv, "y")
}

func TestStartStepAndStop(t *testing.T) {
	srv := newServer(t)
	token, arn := srv.StartStep(map[string]any{"model": "m", "threshold": 0.82, "dry_run": true})
	m := receiveOne(t, srv, sqs.ReceiveMessageInput{})
	msg, err := callback.ParseMessage([]byte(aws.ToString(m.Body)))
	if err != nil {
		t.Fatal(err)
	}
	if msg.Token.Reveal() != token || msg.ExecutionARN.String() != arn || msg.Status != callback.StatusExecuting {
		t.Errorf("message %+v", msg)
	}
	if msg.Arguments["model"] != "m" || msg.Arguments["dry_run"] != true || msg.Arguments["threshold"].(interface{ String() string }).String() != "0.82" {
		t.Errorf("arguments %v", msg.Arguments)
	}
	if st := mustStep(t, srv, token); st.Status != callbacktest.StatusExecuting || st.ExecutionARN != arn {
		t.Errorf("step %+v", st)
	}

	if !srv.StopExecution(arn) {
		t.Fatal("StopExecution = false for a waiting step")
	}
	m = receiveOne(t, srv, sqs.ReceiveMessageInput{})
	msg, err = callback.ParseMessage([]byte(aws.ToString(m.Body)))
	if err != nil || msg.Status != callback.StatusStopping || msg.Token.Reveal() != token {
		t.Fatalf("stopping message %+v, %v", msg, err)
	}
	if st := mustStep(t, srv, token); st.Status != callbacktest.StatusExecuting {
		t.Errorf("the step changed on StopExecution: %+v", st)
	}
	if srv.StopExecution("arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/none") {
		t.Error("StopExecution = true for an unknown execution")
	}
	if _, err := callback.New(srv.Client()).Fail(ctxT(t), msg.Token, callback.MustParseReason("stopped")); err != nil {
		t.Fatal(err)
	}
	if srv.StopExecution(arn) {
		t.Error("StopExecution = true for a completed step")
	}
	if body := callbacktest.StepMessage(token, arn, nil, callbacktest.MessageStatusExecuting); !strings.Contains(body, `"arguments":{}`) {
		t.Errorf("nil arguments: %s", body)
	}
}
