package callback_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stepcallback/sagemaker-callback/callback"
)

const sampleMessage = `{"token":"SYZ8ExZ3Sd","pipelineExecutionArn":"arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/wlaimaypb6hb","arguments":{"model_package_group":"g","baseline_accuracy":0.82,"retrain":true,"epochs":10},"status":"Executing"}`

func TestParseMessage(t *testing.T) {
	m, err := callback.ParseMessage([]byte(sampleMessage))
	if err != nil {
		t.Fatal(err)
	}
	if m.Token != callback.MustParseToken("SYZ8ExZ3Sd") || m.Status != callback.StatusExecuting {
		t.Errorf("token or status wrong: %v %v", m.Token, m.Status)
	}
	if !m.ExecutionARN.IsValid() || m.ExecutionARN.Pipeline() != "p" || m.ExecutionARN.ExecutionID() != "wlaimaypb6hb" {
		t.Errorf("ARN: %v", m.ExecutionARN)
	}
	if acc, ok := m.Arguments["baseline_accuracy"].(json.Number); !ok || acc.String() != "0.82" {
		t.Errorf("number argument: %#v", m.Arguments["baseline_accuracy"])
	}
	if ep, ok := m.Arguments["epochs"].(json.Number); !ok || ep.String() != "10" {
		t.Errorf("integer argument: %#v", m.Arguments["epochs"])
	}
	if b, ok := m.Arguments["retrain"].(bool); !ok || !b {
		t.Errorf("bool argument: %#v", m.Arguments["retrain"])
	}
	if s, ok := m.Arguments["model_package_group"].(string); !ok || s != "g" {
		t.Errorf("string argument: %#v", m.Arguments["model_package_group"])
	}
}

func TestParseMessageKeysInEitherCase(t *testing.T) {
	body := `{"Token":"SYZ8ExZ3Sd","PipelineExecutionArn":"arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/x","Arguments":{},"Status":"Stopping"}`
	m, err := callback.ParseMessage([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != callback.StatusStopping || m.Token.IsZero() || !m.ExecutionARN.IsValid() {
		t.Errorf("parsed %+v", m)
	}
}

func TestParseMessageErrors(t *testing.T) {
	for name, body := range map[string]string{
		"not JSON":       `token=SYZ8ExZ3Sd`,
		"array":          `["SYZ8ExZ3Sd"]`,
		"no token":       `{"status":"Executing"}`,
		"short token":    `{"token":"SYZ8ExZ3S","status":"Executing"}`,
		"token a number": `{"token":1234567890,"status":"Executing"}`,
		"no status":      `{"token":"SYZ8ExZ3Sd"}`,
		"other status":   `{"token":"SYZ8ExZ3Sd","status":"Succeeded"}`,
		"trailing data":  `{"token":"SYZ8ExZ3Sd","status":"Executing"} {}`,
	} {
		_, err := callback.ParseMessage([]byte(body))
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if strings.Contains(err.Error(), "SYZ8ExZ3S") {
			t.Errorf("%s: error shows the token: %v", name, err)
		}
	}
	_, err := callback.ParseMessage([]byte(`{"token":"SYZ8ExZ3S","status":"Executing"}`))
	if !errors.Is(err, callback.ErrInvalid) || !strings.Contains(err.Error(), "token") {
		t.Errorf("bad token error: %v", err)
	}
}

func TestParseMessageKeepsInvalidARN(t *testing.T) {
	m, err := callback.ParseMessage([]byte(`{"token":"SYZ8ExZ3Sd","pipelineExecutionArn":"not-an-arn","status":"Executing"}`))
	if err != nil {
		t.Fatal(err)
	}
	if m.ExecutionARN.IsValid() || m.ExecutionARN.String() != "not-an-arn" {
		t.Errorf("ARN: %q valid %v", m.ExecutionARN, m.ExecutionARN.IsValid())
	}
}

func FuzzParseMessage(f *testing.F) {
	f.Add([]byte(sampleMessage))
	f.Add([]byte(`{"Token":"SYZ8ExZ3Sd","Status":"Stopping"}`))
	f.Add([]byte(`{"token":"SYZ8ExZ3S","status":"Executing"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := callback.ParseMessage(body)
		if err != nil {
			return
		}
		if m.Token.IsZero() {
			t.Fatal("accepted a message without a valid token")
		}
		if m.Status != callback.StatusExecuting && m.Status != callback.StatusStopping {
			t.Fatalf("accepted status %q", m.Status)
		}
		if _, err := callback.ParseToken(m.Token.Reveal()); err != nil {
			t.Fatal("token does not round trip")
		}
	})
}
