package callback_test

import (
	"bytes"
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

// maxErrLen bounds the text of every error the parsers return.
const maxErrLen = 512

// rotate replaces each ASCII letter and digit of s by the next one of its
// class (z by a, 9 by 0): every rule of the model judges s and rotate(s)
// alike, so an error that does not quote its input reads the same for both.
func rotate(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch c {
		case 'z':
			b[i] = 'a'
		case 'Z':
			b[i] = 'A'
		case '9':
			b[i] = '0'
		default:
			if 'a' <= c && c < 'z' || 'A' <= c && c < 'Z' || '0' <= c && c < '9' {
				b[i] = c + 1
			}
		}
	}
	return string(b)
}

// FuzzParseMessageErrors: every error of ParseMessage and of the other
// parsers is at most maxErrLen bytes and never shows the token it was given,
// wherever the token stands (the token field, the status, anywhere in the
// body): an error reads the same whichever token the input holds.
func FuzzParseMessageErrors(f *testing.F) {
	f.Add("SYZ8ExZ3Sd", "Executing", []byte(sampleMessage))
	f.Add("SYZ8ExZ3Sd", strings.Repeat("x", 3000), []byte(`{"token":"SYZ8ExZ3Sd","status":"SYZ8ExZ3Sd"}`))
	f.Add("1234567890", "Stopping", []byte(`{"token":1234567890,"status":"Executing"}`))
	f.Add("SYZ8ExZ3Sd", "", []byte(`{"token":"SYZ8ExZ3Sd","status":"Executing","arguments":"SYZ8ExZ3Sd"}`))
	f.Add("abcdefghij", "Succeeded", []byte(`{"token":"abcdefghij","status":`+strings.Repeat("9", 2000)+`}`))
	f.Fuzz(func(t *testing.T, tok, status string, body []byte) {
		check := func(what string, err, other error) {
			t.Helper()
			if err == nil {
				return
			}
			if len(err.Error()) > maxErrLen {
				t.Fatalf("%s: error of %d bytes: %.200s", what, len(err.Error()), err)
			}
			if other != nil && err.Error() != other.Error() {
				t.Fatalf("%s: the error depends on the value:\n%s\n%s", what, err, other)
			}
		}
		parse := func(b []byte) error { _, err := callback.ParseMessage(b); return err }
		if _, err := callback.ParseToken(tok); err == nil {
			other := rotate(tok)
			keys := "pipelineexecutionarn token status arguments"
			if !strings.Contains(keys, strings.ToLower(tok)) && !strings.Contains(keys, strings.ToLower(other)) {
				with := func(tk string) []byte {
					b, _ := json.Marshal(map[string]any{"token": tk, "status": status + tk, "arguments": map[string]string{tk: tk}})
					return b
				}
				check("ParseMessage, token in the status", parse(with(tok)), parse(with(other)))
				// Compared when both are JSON: the token's digits and letters
				// can make or break a number literal or an escape.
				if swapped := bytes.ReplaceAll(body, []byte(tok), []byte(other)); json.Valid(body) && json.Valid(swapped) {
					check("ParseMessage, token anywhere", parse(body), parse(swapped))
				}
			}
		}
		check("ParseMessage", parse(body), nil)
		for _, s := range []string{tok, status, string(body)} {
			r := rotate(s)
			_, e1 := callback.ParseToken(s)
			_, e2 := callback.ParseToken(r)
			check("ParseToken", e1, e2)
			_, e1 = callback.ParseReason(s)
			_, e2 = callback.ParseReason(r)
			check("ParseReason", e1, e2)
			_, e1 = callback.ParseRequestToken(s)
			_, e2 = callback.ParseRequestToken(r)
			check("ParseRequestToken", e1, e2)
			_, e1 = callback.NewOutput(s, s)
			_, e2 = callback.NewOutput(r, r)
			check("NewOutput", e1, e2)
			if !strings.HasPrefix(s, "Token(") { // the redacted form has an error of its own
				var tk callback.Token
				check("Token.UnmarshalText", tk.UnmarshalText([]byte(s)), tk.UnmarshalText([]byte(r)))
			}
			_, e1 = callback.ParseExecutionARN(s)
			_, e2 = callback.ParseExecutionARN("")
			check("ParseExecutionARN", e1, e2)
		}
	})
}
