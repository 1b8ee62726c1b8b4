package callback_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/stepcallback/sagemaker-callback/callback"
	"github.com/stepcallback/sagemaker-callback/retry"
)

// TestErrorBoundsServiceText: a service (or a proxy) that answers with a
// huge code, message and request id, each echoing the token, gives an error
// of bounded size that never shows the token.
func TestErrorBoundsServiceText(t *testing.T) {
	huge := strings.Repeat(rawToken+" ", 20000) // 220 KB
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Amzn-Requestid", huge[:60000])
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": "Validation" + strings.Repeat(rawToken, 5000), "Message": huge})
	}))
	defer srv.Close()
	api := sagemaker.New(sagemaker.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "SECRETEXAMPLE", ""),
	})
	client := callback.New(api, func(o *callback.Options) { o.Retry = retry.Policy{MaxAttempts: 1} })
	for _, c := range calls {
		_, err := c.do(context.Background(), client, callback.MustParseToken(rawToken))
		if err == nil {
			t.Fatalf("%s: no error", c.name)
		}
		msg := err.Error()
		if len(msg) > 2048 || strings.Contains(msg, rawToken) {
			t.Errorf("%s: error of %d bytes, token shown %v: %.300s", c.name, len(msg), strings.Contains(msg, rawToken), msg)
		}
		var e *callback.Error
		if !errors.As(err, &e) || len(e.RequestID) > 256 || len(e.Code) > 256 || strings.Contains(e.RequestID+e.Code, rawToken) {
			t.Errorf("%s: fields unbounded or show the token: request id %d bytes, code %d bytes", c.name, len(e.RequestID), len(e.Code))
		}
	}
}
