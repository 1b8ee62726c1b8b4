package callbacktest_test

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
)

// sqsJSONPost sends one raw request of SQS's JSON protocol.
func sqsJSONPost(t *testing.T, srv *callbacktest.Server, op, body string) (int, map[string]any) {
	t.Helper()
	h := http.Header{}
	h.Set("Content-Type", "application/x-amz-json-1.0")
	h.Set("X-Amz-Target", "AmazonSQS."+op)
	h.Set("X-Amz-Date", "20240101T000000Z")
	h.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/sqs/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0123456789abcdef")
	resp, text := rawPost(t, srv, http.MethodPost, h, body)
	var out map[string]any
	if err := json.Unmarshal([]byte(text), &out); err != nil {
		t.Fatalf("%s: answer %q", op, text)
	}
	return resp.StatusCode, out
}

// TestSQSLoneSurrogateRefused checks that a message body or attribute value
// with a lone UTF-16 surrogate, which only the JSON protocol can carry (as
// the escape "\ud800", which the JS SDK writes for such a string), is
// refused with InvalidMessageContents, as SQS refuses the character #xD800.
// The fake read it as U+FFFD, accepted it, and kept a body other than the
// one sent.
func TestSQSLoneSurrogateRefused(t *testing.T) {
	srv := newServer(t)
	q := `"QueueUrl":"` + srv.QueueURL() + `"`
	for _, tc := range []struct{ body, char string }{
		{`{` + q + `,"MessageBody":"a\ud800b"}`, "#xd800"},
		{`{` + q + `,"MessageBody":"\uDC00"}`, "#xdc00"},
		{`{` + q + `,"MessageBody":"\ude00\ud83d"}`, "#xde00"}, // a pair in the wrong order
		{`{` + q + `,"MessageBody":"x","MessageAttributes":{"k":{"DataType":"String","StringValue":"v\udbff"}}}`, "#xdbff"},
	} {
		status, out := sqsJSONPost(t, srv, "SendMessage", tc.body)
		if status != 400 || out["__type"] != "com.amazonaws.sqs#InvalidMessageContents" || !strings.Contains(out["message"].(string), "'"+tc.char+"'") {
			t.Errorf("%s: %d %v, want 400 InvalidMessageContents naming %s", tc.body, status, out, tc.char)
		}
	}
	if msgs := srv.QueueMessages(); len(msgs) != 0 {
		t.Fatalf("the queue holds %+v", msgs)
	}

	// In a batch, the entry fails, not the call.
	status, out := sqsJSONPost(t, srv, "SendMessageBatch", `{`+q+`,"Entries":[{"Id":"bad","MessageBody":"\ud800"},{"Id":"good","MessageBody":"fine"}]}`)
	failed, _ := out["Failed"].([]any)
	if status != 200 || len(failed) != 1 || failed[0].(map[string]any)["Code"] != "InvalidMessageContents" {
		t.Errorf("SendMessageBatch: %d %v", status, out)
	}

	// A surrogate pair is a character like any other, and an escaped
	// backslash before "ud800" no escape.
	for _, tc := range []struct{ body, want string }{
		{`"\ud83d\ude00 \\ud800"`, "\U0001F600 \\ud800"},
		{`"\u00e9\n\/"`, "é\n/"},
	} {
		body, want := tc.body, tc.want
		status, out := sqsJSONPost(t, srv, "SendMessage", `{`+q+`,"MessageBody":`+body+`}`)
		sum := md5.Sum([]byte(want))
		if status != 200 || out["MD5OfMessageBody"] != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: %d %v, want the MD5 of %q", body, status, out, want)
		}
	}
	var bodies []string
	for _, m := range srv.QueueMessages() {
		bodies = append(bodies, m.Body)
	}
	if want := []string{"fine", "\U0001F600 \\ud800", "é\n/"}; strings.Join(bodies, "|") != strings.Join(want, "|") {
		t.Errorf("the queue holds %q, want %q", bodies, want)
	}
	receiveOne(t, srv, sqs.ReceiveMessageInput{}) // the SDK's MD5 check passes
}
