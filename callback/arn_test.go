package callback_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stepcallback/sagemaker-callback/callback"
)

// arnRE is the model's pattern with ECMA-262's '.' spelled out: anything but
// a line terminator.
var arnRE = regexp.MustCompile(`^arn:aws([a-z\-]*):sagemaker:([a-z0-9\-]*):([0-9]{12}):pipeline/([^\n\r\x{2028}\x{2029}]*)/execution/([^\n\r\x{2028}\x{2029}]*)$`)

func refARN(s string) ([]string, bool) {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > 2048 {
		return nil, false
	}
	m := arnRE.FindStringSubmatch(s)
	return m, m != nil
}

func TestParseExecutionARN(t *testing.T) {
	tests := []struct {
		in                                   string
		ok                                   bool
		partition, region, account, pipe, id string
	}{
		{"arn:aws:sagemaker:us-east-1:123456789012:pipeline/demo/execution/abc123", true, "aws", "us-east-1", "123456789012", "demo", "abc123"},
		{"arn:aws-cn:sagemaker:cn-north-1:123456789012:pipeline/p/execution/x", true, "aws-cn", "cn-north-1", "123456789012", "p", "x"},
		{"arn:aws-us-gov:sagemaker::123456789012:pipeline//execution/", true, "aws-us-gov", "", "123456789012", "", ""},
		{"arn:aws:sagemaker:us-east-1:123456789012:pipeline/a/execution/b/execution/c", true, "aws", "us-east-1", "123456789012", "a/execution/b", "c"},
		{"arn:aws:sagemaker:us-east-1:12345678901:pipeline/p/execution/x", false, "", "", "", "", ""},
		{"arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/x\n", false, "", "", "", "", ""},
		{"arn:aws:sagemaker:us-east-1:123456789012:pipeline/p\r/execution/x", false, "", "", "", "", ""},
		{"arn:aws:sagemaker:US-EAST-1:123456789012:pipeline/p/execution/x", false, "", "", "", "", ""},
		{"arn:aws:s3:us-east-1:123456789012:pipeline/p/execution/x", false, "", "", "", "", ""},
		{"arn:azure:sagemaker:us-east-1:123456789012:pipeline/p/execution/x", false, "", "", "", "", ""},
		{"arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/x", false, "", "", "", "", ""},
		{"", false, "", "", "", "", ""},
		{"arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/" + strings.Repeat("x", 2048), false, "", "", "", "", ""},
	}
	for _, tt := range tests {
		a, err := callback.ParseExecutionARN(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseExecutionARN(%q) err=%v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if !tt.ok {
			if !errors.Is(err, callback.ErrInvalid) {
				t.Errorf("error does not match ErrInvalid: %v", err)
			}
			continue
		}
		got := []string{a.Partition(), a.Region(), a.Account(), a.Pipeline(), a.ExecutionID()}
		want := []string{tt.partition, tt.region, tt.account, tt.pipe, tt.id}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%q: parts %q, want %q", tt.in, got, want)
				break
			}
		}
		if !a.IsValid() || a.String() != tt.in {
			t.Errorf("%q: IsValid %v String %q", tt.in, a.IsValid(), a.String())
		}
	}
}

func FuzzParseExecutionARN(f *testing.F) {
	f.Add("arn:aws:sagemaker:us-east-1:123456789012:pipeline/demo/execution/abc123")
	f.Add("arn:aws:sagemaker:us-east-1:123456789012:pipeline/a/execution/b/execution/c")
	f.Add("arn:aws-x:sagemaker::000000000000:pipeline/\u2028/execution/")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := callback.ParseExecutionARN(s)
		m, ok := refARN(s)
		if (err == nil) != ok {
			t.Fatalf("ParseExecutionARN(%q) err=%v, reference %v", s, err, ok)
		}
		if !ok {
			return
		}
		got := []string{a.Partition(), a.Region(), a.Account(), a.Pipeline(), a.ExecutionID()}
		want := []string{"aws" + m[1], m[2], m[3], m[4], m[5]}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%q: parts %q, reference %q", s, got, want)
			}
		}
		var back callback.ExecutionARN
		if err := back.UnmarshalText([]byte(a.String())); err != nil || back != a {
			t.Fatalf("text round trip: %v", err)
		}
	})
}
