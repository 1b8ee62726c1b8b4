package callbacktest_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
)

// The tests of issue 18: the SQS calls that workers in other languages make,
// dead-letter queues, message attributes.

// Known MD5OfMessageAttributes, computed by an independent implementation:
// moto 5.2.1's moto.sqs.models.Message.attribute_md5 (Python), run once with
// these attributes.
var attrVectors = []struct {
	attrs map[string]types.MessageAttributeValue
	md5   string
}{
	{map[string]types.MessageAttributeValue{"color": strAttr("String", "blue")}, "da1b33cc3cbfe8b1630921e78e6b9880"},
	{map[string]types.MessageAttributeValue{
		"step":   strAttr("String", "train"),
		"epochs": strAttr("Number", "10"),
		"blob":   {DataType: aws.String("Binary"), BinaryValue: []byte{0x00, 0x01, 0xfe, 0xff}},
	}, "32bbfcdfea7a82bb3511cbb0f7a8a8fc"},
	{map[string]types.MessageAttributeValue{
		"Name.with-dots_1": strAttr("String.custom", "wörld ✓"),
		"a":                strAttr("Number.float", "-1.5e3"),
	}, "d9f4589dc094d19f843e80834cecfd49"},
}

// The same tool's digests of parts of the second vector: a receive returns
// the digest of the attributes it returns.
const (
	md5Step       = "04865a6ad29a2e061a639f8226170e74" // step only
	md5StepEpochs = "1660e509242ab16f96c6122825c35729" // step and epochs
)

func strAttr(dataType, v string) types.MessageAttributeValue {
	return types.MessageAttributeValue{DataType: aws.String(dataType), StringValue: aws.String(v)}
}

func createQueue(t *testing.T, srv *callbacktest.Server, name string, attrs map[string]string) string {
	t.Helper()
	out, err := srv.SQSClient().CreateQueue(ctxT(t), &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs}, sqsNoRetry)
	if err != nil {
		t.Fatalf("CreateQueue %s: %v", name, err)
	}
	return aws.ToString(out.QueueUrl)
}

func queueAttrs(t *testing.T, srv *callbacktest.Server, u string, names ...types.QueueAttributeName) map[string]string {
	t.Helper()
	out, err := srv.SQSClient().GetQueueAttributes(ctxT(t), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(u), AttributeNames: names}, sqsNoRetry)
	if err != nil {
		t.Fatalf("GetQueueAttributes: %v", err)
	}
	return out.Attributes
}

func receiveFrom(t *testing.T, srv *callbacktest.Server, u string, in sqs.ReceiveMessageInput) []types.Message {
	t.Helper()
	in.QueueUrl = aws.String(u)
	in.MessageSystemAttributeNames = []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll}
	out, err := srv.SQSClient().ReceiveMessage(ctxT(t), &in, sqsNoRetry)
	if err != nil {
		t.Fatalf("ReceiveMessage: %v", err)
	}
	return out.Messages
}

func TestSQSMessageAttributes(t *testing.T) {
	srv := newServer(t)
	c := srv.SQSClient()
	for i, v := range attrVectors {
		out, err := c.SendMessage(ctxT(t), &sqs.SendMessageInput{QueueUrl: aws.String(srv.QueueURL()), MessageBody: aws.String("m" + strconv.Itoa(i)), MessageAttributes: v.attrs})
		if err != nil {
			t.Fatal(err)
		}
		if got := aws.ToString(out.MD5OfMessageAttributes); got != v.md5 {
			t.Errorf("vector %d: SendMessage's MD5OfMessageAttributes = %s, want %s", i, got, v.md5)
		}
	}
	msgs := receive(t, srv, sqs.ReceiveMessageInput{MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"}})
	if len(msgs) != len(attrVectors) {
		t.Fatalf("received %d messages", len(msgs))
	}
	for i, m := range msgs {
		v := attrVectors[i]
		if got := aws.ToString(m.MD5OfMessageAttributes); got != v.md5 {
			t.Errorf("vector %d: received MD5OfMessageAttributes = %s, want %s", i, got, v.md5)
		}
		if len(m.MessageAttributes) != len(v.attrs) {
			t.Errorf("vector %d: attributes %v", i, m.MessageAttributes)
		}
		for name, want := range v.attrs {
			got := m.MessageAttributes[name]
			if aws.ToString(got.DataType) != aws.ToString(want.DataType) || aws.ToString(got.StringValue) != aws.ToString(want.StringValue) || string(got.BinaryValue) != string(want.BinaryValue) {
				t.Errorf("vector %d: attribute %s = %+v, want %+v", i, name, got, want)
			}
		}
	}
	// A receive asking for some attributes gets those, and their digest.
	for _, tc := range []struct {
		names []string
		md5   string
		n     int
	}{
		{[]string{"step"}, md5Step, 1},
		{[]string{"step", "epochs", "nope"}, md5StepEpochs, 2},
		{[]string{".*"}, attrVectors[1].md5, 3},
		{nil, "", 0},
	} {
		srv := newServer(t)
		_, err := srv.SQSClient().SendMessage(ctxT(t), &sqs.SendMessageInput{QueueUrl: aws.String(srv.QueueURL()), MessageBody: aws.String("m1"), MessageAttributes: attrVectors[1].attrs})
		if err != nil {
			t.Fatal(err)
		}
		m := receiveOne(t, srv, sqs.ReceiveMessageInput{MessageAttributeNames: tc.names})
		if aws.ToString(m.MD5OfMessageAttributes) != tc.md5 || len(m.MessageAttributes) != tc.n {
			t.Errorf("names %q: MD5 %s, %d attributes; want %s, %d", tc.names, aws.ToString(m.MD5OfMessageAttributes), len(m.MessageAttributes), tc.md5, tc.n)
		}
	}

	for name, attrs := range map[string]map[string]types.MessageAttributeValue{
		"unknown type": {"a": strAttr("Text", "x")},
		"no value":     {"a": {DataType: aws.String("String")}},
		"not a number": {"a": strAttr("Number", "ten")},
		"reserved":     {"AWS.trace": strAttr("String", "x")},
		"bad name":     {"a b": strAttr("String", "x")},
	} {
		_, err := c.SendMessage(ctxT(t), &sqs.SendMessageInput{QueueUrl: aws.String(srv.QueueURL()), MessageBody: aws.String("x"), MessageAttributes: attrs}, sqsNoRetry)
		checkSQSError(t, err, "InvalidParameterValue", 400)
		t.Logf("%s: %v", name, err)
	}
	many := make(map[string]types.MessageAttributeValue)
	for i := range 11 {
		many["a"+strconv.Itoa(i)] = strAttr("String", "x")
	}
	_, err := c.SendMessage(ctxT(t), &sqs.SendMessageInput{QueueUrl: aws.String(srv.QueueURL()), MessageBody: aws.String("x"), MessageAttributes: many}, sqsNoRetry)
	checkSQSError(t, err, "InvalidParameterValue", 400)
}

// TestSQSMessageAttributesQuery sends message attributes in the query
// protocol, as the AWS CLI of Debian does, and reads them back in XML.
func TestSQSMessageAttributesQuery(t *testing.T) {
	srv := newServer(t)
	form := url.Values{"Action": {"SendMessage"}, "QueueUrl": {srv.QueueURL()}, "MessageBody": {"b"},
		"MessageAttribute.1.Name": {"step"}, "MessageAttribute.1.Value.DataType": {"String"}, "MessageAttribute.1.Value.StringValue": {"train"},
		"MessageAttribute.2.Name": {"epochs"}, "MessageAttribute.2.Value.DataType": {"Number"}, "MessageAttribute.2.Value.StringValue": {"10"},
		"MessageAttribute.3.Name": {"blob"}, "MessageAttribute.3.Value.DataType": {"Binary"}, "MessageAttribute.3.Value.BinaryValue": {"AAH+/w=="},
	}
	_, raw := queryPost(t, srv, form)
	if !strings.Contains(raw, "<MD5OfMessageAttributes>"+attrVectors[1].md5+"</MD5OfMessageAttributes>") {
		t.Errorf("SendMessage: %s", raw)
	}
	_, raw = queryPost(t, srv, url.Values{"Action": {"ReceiveMessage"}, "QueueUrl": {srv.QueueURL()}, "MessageAttributeName.1": {"All"}})
	for _, want := range []string{
		"<MD5OfMessageAttributes>" + attrVectors[1].md5 + "</MD5OfMessageAttributes>",
		"<MessageAttribute><Name>blob</Name><Value><BinaryValue>AAH+/w==</BinaryValue><DataType>Binary</DataType></Value></MessageAttribute>",
		"<MessageAttribute><Name>step</Name><Value><StringValue>train</StringValue><DataType>String</DataType></Value></MessageAttribute>",
	} {
		if !strings.Contains(raw, want) {
			t.Errorf("ReceiveMessage lacks %s: %s", want, raw)
		}
	}
}

// TestSQSInvalidUTF8Refused checks that a body of invalid UTF-8 sent in the
// query protocol is refused at SendMessage, as SQS refuses it (issue 18,
// finding 7: it was kept, answered re-encoded, and failed the SDK's MD5
// check of the whole ReceiveMessage).
func TestSQSInvalidUTF8Refused(t *testing.T) {
	srv := newServer(t)
	for _, form := range []url.Values{
		{"Action": {"SendMessage"}, "MessageBody": {"ok \xff\xfe"}},
		{"Action": {"SendMessage"}, "MessageBody": {"ok"}, "MessageAttribute.1.Name": {"a"}, "MessageAttribute.1.Value.DataType": {"String"}, "MessageAttribute.1.Value.StringValue": {"\xc3("}},
	} {
		form.Set("QueueUrl", srv.QueueURL())
		q := query(t, srv, form, 400)
		if q.Error.Code != "InvalidMessageContents" {
			t.Errorf("%v: %+v", form, q)
		}
	}
	// In a batch, the entry fails, not the call.
	resp, body := queryPost(t, srv, url.Values{"Action": {"SendMessageBatch"}, "QueueUrl": {srv.QueueURL()},
		"SendMessageBatchRequestEntry.1.Id": {"bad"}, "SendMessageBatchRequestEntry.1.MessageBody": {"\xff"},
		"SendMessageBatchRequestEntry.2.Id": {"good"}, "SendMessageBatchRequestEntry.2.MessageBody": {"fine"}})
	parseQuery(t, resp, body, 200)
	if !strings.Contains(body, "<BatchResultErrorEntry><Id>bad</Id><SenderFault>true</SenderFault><Code>InvalidMessageContents</Code>") ||
		!strings.Contains(body, "<SendMessageBatchResultEntry><Id>good</Id>") {
		t.Errorf("SendMessageBatch: %s", body)
	}
	msgs := srv.QueueMessages()
	if len(msgs) != 1 || msgs[0].Body != "fine" {
		t.Fatalf("queue holds %+v", msgs)
	}
	// What is on the queue comes back intact: the SDK's MD5 check passes.
	receiveOne(t, srv, sqs.ReceiveMessageInput{})
}

func TestSQSCreateListDeleteQueues(t *testing.T) {
	srv := newServer(t, fastQueue)
	c := srv.SQSClient()
	u := createQueue(t, srv, "jobs", map[string]string{"VisibilityTimeout": "60"})
	if u != srv.URL()+"/123456789012/jobs" {
		t.Errorf("QueueUrl %s", u)
	}
	if again := createQueue(t, srv, "jobs", map[string]string{"VisibilityTimeout": "60"}); again != u {
		t.Errorf("CreateQueue again: %s", again)
	}
	if again := createQueue(t, srv, "jobs", nil); again != u {
		t.Errorf("CreateQueue again without attributes: %s", again)
	}
	_, err := c.CreateQueue(ctxT(t), &sqs.CreateQueueInput{QueueName: aws.String("jobs"), Attributes: map[string]string{"VisibilityTimeout": "61"}}, sqsNoRetry)
	var exists *types.QueueNameExists
	if !errors.As(err, &exists) {
		t.Fatalf("err = %v, want *types.QueueNameExists", err)
	}
	checkSQSError(t, err, "QueueAlreadyExists", 400)
	for _, name := range []string{"jobs-b", "jobs-a", "other"} {
		createQueue(t, srv, name, nil)
	}
	list := func(prefix string, max int32, next *string) *sqs.ListQueuesOutput {
		out, err := c.ListQueues(ctxT(t), &sqs.ListQueuesInput{QueueNamePrefix: aws.String(prefix), MaxResults: aws.Int32(max), NextToken: next})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if out := list("jobs", 1000, nil); !slices.Equal(out.QueueUrls, []string{u, u + "-a", u + "-b"}) || out.NextToken != nil {
		t.Errorf("ListQueues jobs: %v", out.QueueUrls)
	}
	var all []string
	pages := 0
	for p := sqs.NewListQueuesPaginator(c, &sqs.ListQueuesInput{MaxResults: aws.Int32(2)}); p.HasMorePages(); pages++ {
		out, err := p.NextPage(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, out.QueueUrls...)
	}
	if want := []string{srv.QueueURL(), u, u + "-a", u + "-b", srv.URL() + "/123456789012/other"}; !slices.Equal(all, want) || pages != 3 {
		t.Errorf("ListQueues in %d pages: %v, want %v", pages, all, want)
	}

	if _, err := c.DeleteQueue(ctxT(t), &sqs.DeleteQueueInput{QueueUrl: aws.String(u)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.SendMessage(ctxT(t), &sqs.SendMessageInput{QueueUrl: aws.String(u), MessageBody: aws.String("x")}, sqsNoRetry)
	checkSQSError(t, err, "AWS.SimpleQueueService.NonExistentQueue", 400)
	_, err = c.CreateQueue(ctxT(t), &sqs.CreateQueueInput{QueueName: aws.String("jobs")}, sqsNoRetry)
	var recently *types.QueueDeletedRecently
	if !errors.As(err, &recently) {
		t.Fatalf("err = %v, want *types.QueueDeletedRecently", err)
	}
	time.Sleep(61 * 10 * time.Millisecond) // 61 SQS seconds
	createQueue(t, srv, "jobs", nil)

	for _, name := range []string{"a b", "q.fifo", strings.Repeat("n", 81)} {
		_, err = c.CreateQueue(ctxT(t), &sqs.CreateQueueInput{QueueName: aws.String(name)}, sqsNoRetry)
		checkSQSError(t, err, "InvalidParameterValue", 400)
	}
	_, err = c.CreateQueue(ctxT(t), &sqs.CreateQueueInput{QueueName: aws.String("x"), Attributes: map[string]string{"Colour": "red"}}, sqsNoRetry)
	checkSQSError(t, err, "InvalidAttributeName", 400)
	_, err = c.CreateQueue(ctxT(t), &sqs.CreateQueueInput{QueueName: aws.String("x"), Attributes: map[string]string{"MessageRetentionPeriod": "59"}}, sqsNoRetry)
	checkSQSError(t, err, "InvalidAttributeValue", 400)
}

func TestSQSQueueAttributes(t *testing.T) {
	srv := newServer(t, fastQueue)
	c := srv.SQSClient()
	send(t, srv, "a")
	send(t, srv, "b")
	_, err := c.SendMessage(ctxT(t), &sqs.SendMessageInput{QueueUrl: aws.String(srv.QueueURL()), MessageBody: aws.String("later"), DelaySeconds: 900})
	if err != nil {
		t.Fatal(err)
	}
	receiveOne(t, srv, sqs.ReceiveMessageInput{VisibilityTimeout: 600})
	got := queueAttrs(t, srv, srv.QueueURL(), types.QueueAttributeNameAll)
	for k, want := range map[string]string{
		"ApproximateNumberOfMessages": "1", "ApproximateNumberOfMessagesNotVisible": "1", "ApproximateNumberOfMessagesDelayed": "1",
		"QueueArn": "arn:aws:sqs:us-east-1:123456789012:callbacktest", "VisibilityTimeout": "30",
		"MessageRetentionPeriod": "345600", "MaximumMessageSize": "1048576", "DelaySeconds": "0", "ReceiveMessageWaitTimeSeconds": "0",
	} {
		if got[k] != want {
			t.Errorf("%s = %q, want %q", k, got[k], want)
		}
	}
	if _, ok := got["RedrivePolicy"]; ok {
		t.Errorf("a RedrivePolicy with none set: %v", got)
	}
	if got := queueAttrs(t, srv, srv.QueueURL(), types.QueueAttributeNameApproximateNumberOfMessages); len(got) != 1 || got["ApproximateNumberOfMessages"] != "1" {
		t.Errorf("one attribute: %v", got)
	}
	if got := queueAttrs(t, srv, srv.QueueURL()); len(got) != 0 {
		t.Errorf("no names: %v", got)
	}
	_, err = c.GetQueueAttributes(ctxT(t), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(srv.QueueURL()), AttributeNames: []types.QueueAttributeName{"Colour"}}, sqsNoRetry)
	checkSQSError(t, err, "InvalidAttributeName", 400)

	_, err = c.SetQueueAttributes(ctxT(t), &sqs.SetQueueAttributesInput{QueueUrl: aws.String(srv.QueueURL()), Attributes: map[string]string{"VisibilityTimeout": "1", "ReceiveMessageWaitTimeSeconds": "20"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := queueAttrs(t, srv, srv.QueueURL(), types.QueueAttributeNameVisibilityTimeout); got["VisibilityTimeout"] != "1" {
		t.Errorf("after SetQueueAttributes: %v", got)
	}
	// The queue's VisibilityTimeout applies: received, then visible again
	// within 1 SQS second (10ms); ReceiveMessageWaitTimeSeconds makes every
	// receive a long poll.
	m := receiveOne(t, srv, sqs.ReceiveMessageInput{})
	again := receiveOne(t, srv, sqs.ReceiveMessageInput{})
	if aws.ToString(again.MessageId) != aws.ToString(m.MessageId) {
		t.Errorf("got %s, then %s", aws.ToString(m.MessageId), aws.ToString(again.MessageId))
	}
	for _, attrs := range []map[string]string{{"VisibilityTimeout": "43201"}, {"QueueArn": "x"}, {"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:123456789012:nope","maxReceiveCount":"3"}`}} {
		_, err = c.SetQueueAttributes(ctxT(t), &sqs.SetQueueAttributesInput{QueueUrl: aws.String(srv.QueueURL()), Attributes: attrs}, sqsNoRetry)
		if err == nil {
			t.Errorf("%v: accepted", attrs)
		}
	}
}

// TestSQSBatches drives the three batch calls: per-entry results, and the
// batch's own errors.
func TestSQSBatches(t *testing.T) {
	srv := newServer(t)
	c := srv.SQSClient()
	qu := aws.String(srv.QueueURL())
	sent, err := c.SendMessageBatch(ctxT(t), &sqs.SendMessageBatchInput{QueueUrl: qu, Entries: []types.SendMessageBatchRequestEntry{
		{Id: aws.String("one"), MessageBody: aws.String("1"), MessageAttributes: attrVectors[0].attrs},
		{Id: aws.String("bad"), MessageBody: aws.String("a\x00b")},
		{Id: aws.String("two"), MessageBody: aws.String("2")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(sent.Successful) != 2 || aws.ToString(sent.Successful[0].Id) != "one" || aws.ToString(sent.Successful[0].MD5OfMessageAttributes) != attrVectors[0].md5 || aws.ToString(sent.Successful[1].Id) != "two" {
		t.Errorf("Successful %+v", sent.Successful)
	}
	if len(sent.Failed) != 1 || aws.ToString(sent.Failed[0].Id) != "bad" || aws.ToString(sent.Failed[0].Code) != "InvalidMessageContents" || !sent.Failed[0].SenderFault {
		t.Errorf("Failed %+v", sent.Failed)
	}
	msgs := receive(t, srv, sqs.ReceiveMessageInput{MaxNumberOfMessages: 10})
	if len(msgs) != 2 {
		t.Fatalf("received %d", len(msgs))
	}
	changed, err := c.ChangeMessageVisibilityBatch(ctxT(t), &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: qu, Entries: []types.ChangeMessageVisibilityBatchRequestEntry{
		{Id: aws.String("a"), ReceiptHandle: msgs[0].ReceiptHandle, VisibilityTimeout: 0},
		{Id: aws.String("b"), ReceiptHandle: aws.String("AQEBnope"), VisibilityTimeout: 5},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(changed.Successful) != 1 || len(changed.Failed) != 1 || aws.ToString(changed.Failed[0].Code) != "ReceiptHandleIsInvalid" {
		t.Errorf("ChangeMessageVisibilityBatch: %+v %+v", changed.Successful, changed.Failed)
	}
	again := receiveOne(t, srv, sqs.ReceiveMessageInput{})
	deleted, err := c.DeleteMessageBatch(ctxT(t), &sqs.DeleteMessageBatchInput{QueueUrl: qu, Entries: []types.DeleteMessageBatchRequestEntry{
		{Id: aws.String("x"), ReceiptHandle: again.ReceiptHandle},
		{Id: aws.String("y"), ReceiptHandle: msgs[1].ReceiptHandle},
		{Id: aws.String("z"), ReceiptHandle: aws.String("AQEBnope")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(deleted.Successful) != 2 || len(deleted.Failed) != 1 || aws.ToString(deleted.Failed[0].Id) != "z" {
		t.Errorf("DeleteMessageBatch: %+v %+v", deleted.Successful, deleted.Failed)
	}
	if st := srv.QueueStats(); st.Deleted != 2 || st.Visible+st.InFlight != 0 {
		t.Errorf("stats %+v", st)
	}

	// The batch's own errors.
	eleven := make([]types.DeleteMessageBatchRequestEntry, 11)
	for i := range eleven {
		eleven[i] = types.DeleteMessageBatchRequestEntry{Id: aws.String(fmt.Sprint("e", i)), ReceiptHandle: aws.String("h")}
	}
	_, err = c.DeleteMessageBatch(ctxT(t), &sqs.DeleteMessageBatchInput{QueueUrl: qu, Entries: eleven}, sqsNoRetry)
	var tooMany *types.TooManyEntriesInBatchRequest
	if !errors.As(err, &tooMany) {
		t.Errorf("11 entries: %v", err)
	}
	checkSQSError(t, err, "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", 400)
	_, err = c.DeleteMessageBatch(ctxT(t), &sqs.DeleteMessageBatchInput{QueueUrl: qu, Entries: []types.DeleteMessageBatchRequestEntry{}}, sqsNoRetry)
	var empty *types.EmptyBatchRequest
	if !errors.As(err, &empty) {
		t.Errorf("no entries: %v", err)
	}
	checkSQSError(t, err, "AWS.SimpleQueueService.EmptyBatchRequest", 400)
	_, err = c.SendMessageBatch(ctxT(t), &sqs.SendMessageBatchInput{QueueUrl: qu, Entries: []types.SendMessageBatchRequestEntry{
		{Id: aws.String("same"), MessageBody: aws.String("1")}, {Id: aws.String("same"), MessageBody: aws.String("2")},
	}}, sqsNoRetry)
	var repeated *types.BatchEntryIdsNotDistinct
	if !errors.As(err, &repeated) {
		t.Errorf("repeated ids: %v", err)
	}
	checkSQSError(t, err, "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", 400)
	_, err = c.SendMessageBatch(ctxT(t), &sqs.SendMessageBatchInput{QueueUrl: qu, Entries: []types.SendMessageBatchRequestEntry{{Id: aws.String("no spaces"), MessageBody: aws.String("1")}}}, sqsNoRetry)
	var badID *types.InvalidBatchEntryId
	if !errors.As(err, &badID) {
		t.Errorf("bad id: %v", err)
	}
	if n := len(srv.QueueMessages()); n != 2 {
		t.Errorf("%d messages after the refused batches", n)
	}
}

// TestSQSQueryErrorHeader checks the x-amzn-query-error header of SQS's JSON
// errors, from which the JS SDK names its error classes.
func TestSQSQueryErrorHeader(t *testing.T) {
	srv := newServer(t)
	createQueue(t, srv, "q", map[string]string{"DelaySeconds": "1"})
	for _, tc := range []struct{ target, body, header string }{
		{"AmazonSQS.CreateQueue", `{"QueueName":"q","Attributes":{"DelaySeconds":"2"}}`, "QueueAlreadyExists;Sender"},
		{"AmazonSQS.DeleteMessageBatch", `{"QueueUrl":"` + srv.QueueURL() + `","Entries":[]}`, "AWS.SimpleQueueService.EmptyBatchRequest;Sender"},
		{"AmazonSQS.PurgeQueue", `{"QueueUrl":"` + srv.URL() + `/123456789012/nope"}`, "AWS.SimpleQueueService.NonExistentQueue;Sender"},
		{"AmazonSQS.TagQueue", `{"QueueUrl":"` + srv.QueueURL() + `"}`, "InvalidAction;Sender"},
	} {
		resp, body := rawPost(t, srv, http.MethodPost, sqsHeader(tc.target, "us-east-1"), tc.body)
		if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-Query-Error") != tc.header {
			t.Errorf("%s: HTTP %d, x-amzn-query-error %q, want %q: %s", tc.target, resp.StatusCode, resp.Header.Get("X-Amzn-Query-Error"), tc.header, body)
		}
	}
}

func TestSQSPurgeQueue(t *testing.T) {
	srv := newServer(t, fastQueue)
	c := srv.SQSClient()
	send(t, srv, "a")
	send(t, srv, "b")
	receiveOne(t, srv, sqs.ReceiveMessageInput{VisibilityTimeout: 600})
	if _, err := c.PurgeQueue(ctxT(t), &sqs.PurgeQueueInput{QueueUrl: aws.String(srv.QueueURL())}); err != nil {
		t.Fatal(err)
	}
	if st := srv.QueueStats(); st.Deleted != 2 {
		t.Errorf("stats %+v", st)
	}
	_, err := c.PurgeQueue(ctxT(t), &sqs.PurgeQueueInput{QueueUrl: aws.String(srv.QueueURL())}, sqsNoRetry)
	var inProgress *types.PurgeQueueInProgress
	if !errors.As(err, &inProgress) {
		t.Fatalf("a second purge within 60 seconds: %v", err)
	}
	checkSQSError(t, err, "AWS.SimpleQueueService.PurgeQueueInProgress", 403)
}

// TestSQSRedriveToDeadLetterQueue makes a dead-letter queue and a queue whose
// RedrivePolicy names it with CreateQueue, as a user would: a message
// received more than maxReceiveCount times moves there, with its id, body,
// attributes and SentTimestamp.
func TestSQSRedriveToDeadLetterQueue(t *testing.T) {
	srv := newServer(t, fastQueue)
	c := srv.SQSClient()
	dlq := createQueue(t, srv, "work-dlq", nil)
	arn := queueAttrs(t, srv, dlq, types.QueueAttributeNameQueueArn)["QueueArn"]
	policy := `{"deadLetterTargetArn":"` + arn + `","maxReceiveCount":"2"}`
	work := createQueue(t, srv, "work", map[string]string{"RedrivePolicy": policy, "VisibilityTimeout": "1"})
	var rp struct {
		DeadLetterTargetArn string
		MaxReceiveCount     int
	}
	if err := json.Unmarshal([]byte(queueAttrs(t, srv, work, types.QueueAttributeNameRedrivePolicy)["RedrivePolicy"]), &rp); err != nil || rp.DeadLetterTargetArn != arn || rp.MaxReceiveCount != 2 {
		t.Errorf("RedrivePolicy %+v, %v", rp, err)
	}
	out, err := c.SendMessage(ctxT(t), &sqs.SendMessageInput{QueueUrl: aws.String(work), MessageBody: aws.String("poison"), MessageAttributes: attrVectors[0].attrs})
	if err != nil {
		t.Fatal(err)
	}
	var sentAt string
	for i := 1; i <= 2; i++ {
		msgs := receiveFrom(t, srv, work, sqs.ReceiveMessageInput{WaitTimeSeconds: 20})
		if len(msgs) != 1 || msgs[0].Attributes["ApproximateReceiveCount"] != strconv.Itoa(i) {
			t.Fatalf("receive %d: %+v", i, msgs)
		}
		sentAt = msgs[0].Attributes["SentTimestamp"]
	}
	if got := receiveFrom(t, srv, work, sqs.ReceiveMessageInput{WaitTimeSeconds: 3}); len(got) != 0 {
		t.Fatalf("received a third time from the source queue")
	}
	msgs := receiveFrom(t, srv, dlq, sqs.ReceiveMessageInput{MessageAttributeNames: []string{"All"}})
	if len(msgs) != 1 {
		t.Fatalf("the dead-letter queue holds %d messages", len(msgs))
	}
	m := msgs[0]
	if aws.ToString(m.MessageId) != aws.ToString(out.MessageId) || aws.ToString(m.Body) != "poison" || m.Attributes["SentTimestamp"] != sentAt ||
		aws.ToString(m.MD5OfMessageAttributes) != attrVectors[0].md5 || aws.ToString(m.MessageAttributes["color"].StringValue) != "blue" {
		t.Errorf("dead-lettered message %+v", m)
	}
	if got := queueAttrs(t, srv, work, types.QueueAttributeNameAll); got["ApproximateNumberOfMessages"] != "0" || got["ApproximateNumberOfMessagesNotVisible"] != "0" {
		t.Errorf("source queue %v", got)
	}
	// "" removes the policy.
	if _, err := c.SetQueueAttributes(ctxT(t), &sqs.SetQueueAttributesInput{QueueUrl: aws.String(work), Attributes: map[string]string{"RedrivePolicy": ""}}); err != nil {
		t.Fatal(err)
	}
	if _, ok := queueAttrs(t, srv, work, types.QueueAttributeNameAll)["RedrivePolicy"]; ok {
		t.Error("the policy stayed")
	}
}

// TestSQSMaxReceiveCountMakesDeadLetterQueue checks QueueOptions.MaxReceiveCount:
// the default queue's redrive policy names a dead-letter queue "-dlq" beside it.
func TestSQSMaxReceiveCountMakesDeadLetterQueue(t *testing.T) {
	srv := newServer(t, fastQueue, func(o *callbacktest.Options) { o.Queue.MaxReceiveCount = 1 })
	id := srv.SendQueueMessage("poison")
	receiveOne(t, srv, sqs.ReceiveMessageInput{VisibilityTimeout: 1})
	if got := receive(t, srv, sqs.ReceiveMessageInput{WaitTimeSeconds: 5}); len(got) != 0 {
		t.Fatal("received twice")
	}
	rp := queueAttrs(t, srv, srv.QueueURL(), types.QueueAttributeNameRedrivePolicy)["RedrivePolicy"]
	if rp != `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:123456789012:callbacktest-dlq","maxReceiveCount":1}` {
		t.Errorf("RedrivePolicy %s", rp)
	}
	msgs := receiveFrom(t, srv, srv.QueueURL()+"-dlq", sqs.ReceiveMessageInput{})
	if len(msgs) != 1 || aws.ToString(msgs[0].MessageId) != id {
		t.Errorf("dead-letter queue: %+v", msgs)
	}
}

// TestSQSRetention checks that MessageRetentionPeriod deletes messages, in
// SQS seconds (QueueOptions.Second).
func TestSQSRetention(t *testing.T) {
	srv := newServer(t, fastQueue) // 60 SQS seconds: 600ms, room for the first check on a loaded machine
	u := createQueue(t, srv, "short", map[string]string{"MessageRetentionPeriod": "60"})
	if _, err := srv.SQSClient().SendMessage(ctxT(t), &sqs.SendMessageInput{QueueUrl: aws.String(u), MessageBody: aws.String("x")}); err != nil {
		t.Fatal(err)
	}
	if got := queueAttrs(t, srv, u, types.QueueAttributeNameApproximateNumberOfMessages); got["ApproximateNumberOfMessages"] != "1" {
		t.Errorf("at once: %v", got)
	}
	time.Sleep(750 * time.Millisecond) // 75 SQS seconds
	if got := queueAttrs(t, srv, u, types.QueueAttributeNameApproximateNumberOfMessages); got["ApproximateNumberOfMessages"] != "0" {
		t.Errorf("after the retention period: %v", got)
	}
	if got := receiveFrom(t, srv, u, sqs.ReceiveMessageInput{}); len(got) != 0 {
		t.Errorf("received a message past its retention period")
	}
}

// TestStartStepAfterDefaultQueueDeleted checks what the package doc says of
// a deleted default queue: a step StartStep starts then fails at once, as a
// step whose SqsQueueUrl names no queue, and nothing is sent. (The doc said
// its message was still put on the deleted queue.)
func TestStartStepAfterDefaultQueueDeleted(t *testing.T) {
	srv := newServer(t)
	srv.StartStep(nil)
	if _, err := srv.SQSClient().DeleteQueue(ctxT(t), &sqs.DeleteQueueInput{QueueUrl: aws.String(srv.QueueURL())}); err != nil {
		t.Fatal(err)
	}
	token, _ := srv.StartStep(nil)
	st := mustStep(t, srv, token)
	if st.Status != callbacktest.StatusFailed || !strings.Contains(st.FailureReason, "names no queue") {
		t.Errorf("step = %+v, want Failed: its queue is gone", st)
	}
	if n := len(srv.QueueMessages()); n != 1 {
		t.Errorf("QueueMessages shows %d messages, want the one sent before the queue was deleted", n)
	}
}
