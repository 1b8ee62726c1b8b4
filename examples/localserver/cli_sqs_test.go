package main

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestCLISQSCalls drives the SQS calls of issue 18 with the AWS CLI of
// Debian, which speaks the query protocol: queues made and listed, a
// dead-letter queue made with create-queue and a redrive to it, message
// attributes and their digest, the three batch calls and their errors,
// queue attributes, purge and delete.
func TestCLISQSCalls(t *testing.T) {
	needCLI(t)
	p := start(t, "-addr", "127.0.0.1:0", "-token", "AbCdE12345")
	cli := func(args ...string) (map[string]any, string, error) {
		t.Helper()
		cmd := exec.Command(awsCLI, append([]string{"--endpoint-url", p.url, "--output", "json", "sqs"}, args...)...)
		cmd.Env = append(cleanEnv(t), "AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=SECRETEXAMPLE", "AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=")
		out, err := cmd.CombinedOutput()
		var v map[string]any
		if err == nil && len(strings.TrimSpace(string(out))) > 0 {
			if jerr := json.Unmarshal(out, &v); jerr != nil {
				t.Fatalf("aws sqs %s: %v\n%s", strings.Join(args, " "), jerr, out)
			}
		}
		return v, string(out), err
	}
	must := func(args ...string) map[string]any {
		t.Helper()
		v, out, err := cli(args...)
		if err != nil {
			t.Fatalf("aws sqs %s: %v\n%s\nserver log:\n%s", strings.Join(args, " "), err, out, p.stderr)
		}
		return v
	}
	refused := func(want string, args ...string) {
		t.Helper()
		if _, out, err := cli(args...); err == nil || !strings.Contains(out, "("+want+")") {
			t.Errorf("aws sqs %s: %v, want %s\n%s", strings.Join(args, " "), err, want, out)
		}
	}

	dlq := must("create-queue", "--queue-name", "work-dlq")["QueueUrl"].(string)
	arn := must("get-queue-attributes", "--queue-url", dlq, "--attribute-names", "QueueArn")["Attributes"].(map[string]any)["QueueArn"].(string)
	policy, _ := json.Marshal(map[string]string{"RedrivePolicy": `{"deadLetterTargetArn":"` + arn + `","maxReceiveCount":"2"}`})
	work := must("create-queue", "--queue-name", "work", "--attributes", string(policy))["QueueUrl"].(string)
	if again := must("create-queue", "--queue-name", "work")["QueueUrl"]; again != work {
		t.Errorf("create-queue again: %v", again)
	}
	refused("QueueAlreadyExists", "create-queue", "--queue-name", "work", "--attributes", `{"VisibilityTimeout":"5"}`)
	urls := must("list-queues", "--queue-name-prefix", "work")["QueueUrls"].([]any)
	if len(urls) != 2 || urls[0] != work || urls[1] != dlq {
		t.Errorf("list-queues: %v", urls)
	}

	// Message attributes, and their digest (moto's, see callbacktest's tests).
	sent := must("send-message", "--queue-url", work, "--message-body", "poison",
		"--message-attributes", `{"color":{"DataType":"String","StringValue":"blue"}}`)
	if sent["MD5OfMessageAttributes"] != "da1b33cc3cbfe8b1630921e78e6b9880" {
		t.Errorf("send-message: %v", sent)
	}
	for i := 1; i <= 2; i++ {
		got := must("receive-message", "--queue-url", work, "--visibility-timeout", "0", "--attribute-names", "All", "--message-attribute-names", "All")
		msgs, _ := got["Messages"].([]any)
		if len(msgs) != 1 {
			t.Fatalf("receive %d: %v", i, got)
		}
		m := msgs[0].(map[string]any)
		if m["MD5OfMessageAttributes"] != "da1b33cc3cbfe8b1630921e78e6b9880" || m["MessageAttributes"].(map[string]any)["color"].(map[string]any)["StringValue"] != "blue" {
			t.Errorf("receive %d: %v", i, m)
		}
	}
	if got := must("receive-message", "--queue-url", work); got["Messages"] != nil {
		t.Errorf("a third receive from the source queue: %v", got)
	}
	got := must("receive-message", "--queue-url", dlq, "--message-attribute-names", "All")
	if msgs, _ := got["Messages"].([]any); len(msgs) != 1 || msgs[0].(map[string]any)["MessageId"] != sent["MessageId"] || msgs[0].(map[string]any)["Body"] != "poison" {
		t.Errorf("the dead-letter queue: %v", got)
	}

	// Batches.
	batch := must("send-message-batch", "--queue-url", work, "--entries",
		`[{"Id":"a","MessageBody":"1","MessageAttributes":{"color":{"DataType":"String","StringValue":"blue"}}},{"Id":"b","MessageBody":"2"}]`)
	if ok, _ := batch["Successful"].([]any); len(ok) != 2 || ok[0].(map[string]any)["MD5OfMessageAttributes"] != "da1b33cc3cbfe8b1630921e78e6b9880" {
		t.Errorf("send-message-batch: %v", batch)
	}
	got = must("receive-message", "--queue-url", work, "--max-number-of-messages", "10")
	msgs, _ := got["Messages"].([]any)
	if len(msgs) != 2 {
		t.Fatalf("received %v", got)
	}
	handle := func(i int) string { return msgs[i].(map[string]any)["ReceiptHandle"].(string) }
	changed := must("change-message-visibility-batch", "--queue-url", work, "--entries",
		`[{"Id":"a","ReceiptHandle":"`+handle(0)+`","VisibilityTimeout":60},{"Id":"bad","ReceiptHandle":"AQEBnope","VisibilityTimeout":60}]`)
	if ok, _ := changed["Successful"].([]any); len(ok) != 1 || changed["Failed"].([]any)[0].(map[string]any)["Code"] != "ReceiptHandleIsInvalid" {
		t.Errorf("change-message-visibility-batch: %v", changed)
	}
	deleted := must("delete-message-batch", "--queue-url", work, "--entries",
		`[{"Id":"a","ReceiptHandle":"`+handle(0)+`"},{"Id":"b","ReceiptHandle":"`+handle(1)+`"}]`)
	if ok, _ := deleted["Successful"].([]any); len(ok) != 2 {
		t.Errorf("delete-message-batch: %v", deleted)
	}
	refused("AWS.SimpleQueueService.BatchEntryIdsNotDistinct", "delete-message-batch", "--queue-url", work, "--entries", `[{"Id":"a","ReceiptHandle":"x"},{"Id":"a","ReceiptHandle":"y"}]`)
	refused("AWS.SimpleQueueService.EmptyBatchRequest", "delete-message-batch", "--queue-url", work, "--entries", `[]`)
	var eleven []string
	for i := range 11 {
		eleven = append(eleven, `{"Id":"e`+string(rune('a'+i))+`","MessageBody":"x"}`)
	}
	refused("AWS.SimpleQueueService.TooManyEntriesInBatchRequest", "send-message-batch", "--queue-url", work, "--entries", "["+strings.Join(eleven, ",")+"]")

	// Queue attributes, purge and delete.
	must("set-queue-attributes", "--queue-url", work, "--attributes", `{"VisibilityTimeout":"45"}`)
	must("send-message", "--queue-url", work, "--message-body", "left")
	attrs := must("get-queue-attributes", "--queue-url", work, "--attribute-names", "All")["Attributes"].(map[string]any)
	if attrs["VisibilityTimeout"] != "45" || attrs["ApproximateNumberOfMessages"] != "1" || !strings.Contains(attrs["RedrivePolicy"].(string), arn) {
		t.Errorf("get-queue-attributes: %v", attrs)
	}
	must("purge-queue", "--queue-url", work)
	refused("AWS.SimpleQueueService.PurgeQueueInProgress", "purge-queue", "--queue-url", work)
	must("delete-queue", "--queue-url", work)
	refused("AWS.SimpleQueueService.NonExistentQueue", "get-queue-attributes", "--queue-url", work)

	p.stop()
	for _, op := range []string{"CreateQueue", "ListQueues", "GetQueueAttributes", "SetQueueAttributes", "SendMessageBatch", "DeleteMessageBatch", "ChangeMessageVisibilityBatch", "PurgeQueue", "DeleteQueue"} {
		if !slices.ContainsFunc(strings.Split(p.stderr.String(), "\n"), func(l string) bool { return strings.Contains(l, " "+op+" ") && strings.Contains(l, "-> 200") }) {
			t.Errorf("the log shows no %s answered 200", op)
		}
	}
}
