package validate_test

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/stepcallback/sagemaker-callback/validate"
)

func TestLength(t *testing.T) {
	for _, c := range []struct {
		s     string
		n     int
		valid bool
	}{
		{"", 0, true},
		{"a", 1, true},
		{"\x00", 1, true},
		{"é", 1, true},          // 2 bytes
		{"€", 1, true},          // 3 bytes
		{"😀", 1, true},          // 4 bytes, 2 UTF-16 units
		{"\uFFFD", 1, true},     // the replacement character itself is valid
		{"\U0010FFFF", 1, true}, // the last code point
		{"e\u0301", 2, true},    // e + combining acute: 2 code points, 1 grapheme
		{"👍🏽", 2, true},         // emoji + skin tone modifier
		{strings.Repeat("😀", 256), 256, true},
		{"\xff", 0, false},
		{"a\xff", 1, false},
		{"ab\xffcd", 2, false}, // n counts up to the first invalid byte
		{"é\xed\xa0\x80", 1, false},
		{"\xed\xa0\x80", 0, false},     // surrogate U+D800
		{"\xed\xbf\xbf", 0, false},     // surrogate U+DFFF
		{"\xc0\x80", 0, false},         // overlong NUL
		{"\xc1\xbf", 0, false},         // overlong
		{"\xe0\x80\xaf", 0, false},     // overlong
		{"\xf0\x80\x80\xaf", 0, false}, // overlong
		{"\xe2\x82", 0, false},         // truncated
		{"a\xf0\x9f\x98", 1, false},    // truncated 4-byte
		{"\x80", 0, false},             // lone continuation byte
		{"\xf4\x90\x80\x80", 0, false}, // above U+10FFFF
		{"\xf8\x88\x80\x80\x80", 0, false},
	} {
		n, ok := validate.Length(c.s)
		if n != c.n || ok != c.valid {
			t.Errorf("Length(%+q) = %d, %v; want %d, %v", c.s, n, ok, c.n, c.valid)
		}
	}
}

// TestLengthIsNotUTF16 shows the unit: 256 × 😀 is 256 code points (valid for
// a String256) but 512 UTF-16 units and 1024 bytes.
func TestLengthIsNotUTF16(t *testing.T) {
	s := strings.Repeat("😀", 256)
	n, _ := validate.Length(s)
	if u := len(utf16.Encode([]rune(s))); n != 256 || u != 512 || len(s) != 1024 {
		t.Fatalf("code points %d, UTF-16 units %d, bytes %d", n, u, len(s))
	}
	if err := validate.FailureReason.Check(s); err != nil {
		t.Fatal(err)
	}
}

func TestIsAlnum(t *testing.T) {
	for _, c := range []struct {
		s    string
		want bool
	}{
		{"", false},
		{"a", true},
		{"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", true},
		{"abc\n", false},
		{"\nabc", false},
		{"ab\x00c", false},
		{"é", false},
		{"٣", false},
		{"Ａ", false},
		{"a b", false},
		{"a\xff", false},
	} {
		if got := validate.IsAlnum(c.s); got != c.want {
			t.Errorf("IsAlnum(%+q) = %v, want %v", c.s, got, c.want)
		}
	}

	// Every byte alone, and after a letter, against Go's regexp.
	re := regexp.MustCompile(validate.AlnumPattern)
	for b := 0; b < 256; b++ {
		for _, s := range []string{string([]byte{byte(b)}), "x" + string([]byte{byte(b)}), string([]byte{byte(b)}) + "x"} {
			if got, want := validate.IsAlnum(s), re.MatchString(s); got != want {
				t.Errorf("IsAlnum(%+q) = %v, regexp says %v", s, got, want)
			}
		}
	}
}
