package callback_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stepcallback/sagemaker-callback/callback"
	"github.com/stepcallback/sagemaker-callback/validate"
)

func TestParseToken(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
		rule validate.Rule
	}{
		{"valid", "AbCdE12345", true, ""},
		{"all digits", "0123456789", true, ""},
		{"all letters", "abcdefghij", true, ""},
		{"max letters", "ZZZZZZZZZZ", true, ""},
		{"min-1", "AbCdE1234", false, validate.RuleLength},
		{"max+1", "AbCdE123456", false, validate.RuleLength},
		{"empty", "", false, validate.RuleLength},
		{"300 chars", strings.Repeat("a", 300), false, validate.RuleLength},
		{"trailing newline", "abcdefghi\n", false, validate.RulePattern},
		{"NUL", "abcdefghi\x00", false, validate.RulePattern},
		{"space", "abcde fghi", false, validate.RulePattern},
		{"dash", "abcde-fghi", false, validate.RulePattern},
		{"non-ASCII letter", "abcdefghié", false, validate.RulePattern}, // 10 code points, 11 bytes
		{"non-ASCII letter, 10 code points", "abcdefghé", false, validate.RuleLength},
		{"non-ASCII letters, 10 code points", "ééééééééé" + "a", false, validate.RulePattern},
		{"Arabic-Indic digit", "abcdefgh٣a", false, validate.RulePattern},
		{"fullwidth A", "abcdefghＡb", false, validate.RulePattern},
		{"invalid UTF-8", "abcdefghi\xff", false, validate.RuleUTF8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := callback.ParseToken(tt.in)
			if tt.ok {
				if err != nil {
					t.Fatalf("ParseToken(%q): %v", tt.in, err)
				}
				if got := tok.Reveal(); got != tt.in {
					t.Errorf("Reveal() = %q, want %q", got, tt.in)
				}
				if tok.IsZero() {
					t.Error("IsZero() = true for a valid token")
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseToken(%q) = nil error, want %s violation", tt.in, tt.rule)
			}
			if !tok.IsZero() {
				t.Error("failed ParseToken returned a non-zero Token")
			}
			var ve *validate.Error
			if !errors.As(err, &ve) || ve.Rule != tt.rule || ve.Field != "CallbackToken" {
				t.Errorf("error %v: want a *validate.Error on CallbackToken with rule %s", err, tt.rule)
			}
			if !errors.Is(err, validate.ErrInvalid) || !errors.Is(err, callback.ErrInvalid) {
				t.Errorf("error %v does not match ErrInvalid", err)
			}
			if tt.in != "" && strings.Contains(err.Error(), tt.in) {
				t.Errorf("error %q shows the value", err)
			}
		})
	}
}

func TestTokenComparable(t *testing.T) {
	a := callback.MustParseToken("AbCdE12345")
	b := callback.MustParseToken(strings.Clone("AbCdE12345"))
	c := callback.MustParseToken("AbCdE12346")
	if a != b {
		t.Error("equal tokens compare unequal")
	}
	if a == c {
		t.Error("different tokens compare equal")
	}
	m := map[callback.Token]int{a: 1}
	if m[b] != 1 {
		t.Error("token does not work as a map key")
	}
	var zero callback.Token
	if !zero.IsZero() || zero.Reveal() != "" || zero.String() != "Token(zero)" {
		t.Errorf("zero Token: IsZero %v, Reveal %q, String %q", zero.IsZero(), zero.Reveal(), zero.String())
	}
}

func TestMustParseTokenPanics(t *testing.T) {
	defer func() {
		r := recover()
		if r == nil {
			t.Fatal("MustParseToken did not panic on a bad token")
		}
		if strings.Contains(fmtAny(r), "bad") {
			t.Errorf("panic value shows the token: %v", r)
		}
	}()
	callback.MustParseToken("bad")
}

func TestTokenFingerprint(t *testing.T) {
	tok := callback.MustParseToken("AbCdE12345")
	fp := tok.Fingerprint()
	if len(fp) != 8 {
		t.Fatalf("Fingerprint() = %q, want 8 hex digits", fp)
	}
	// Pinned: the fingerprint is the same in every process, so log lines of
	// two processes correlate.
	if want := "d99b33cb"; fp != want {
		t.Errorf("Fingerprint() = %q, want %q", fp, want)
	}
	if tok.String() != "Token(sha256:"+fp+")" {
		t.Errorf("String() = %q", tok.String())
	}
	if other := callback.MustParseToken("AbCdE12346").Fingerprint(); other == fp {
		t.Error("different tokens share a fingerprint")
	}
}

func TestTokenRedact(t *testing.T) {
	tok := callback.MustParseToken("AbCdE12345")
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"no token here", "no token here"},
		{"AbCdE12345", tok.String()},
		{"a AbCdE12345 b AbCdE12345", "a " + tok.String() + " b " + tok.String()},
		{"abcde12345 is another", "abcde12345 is another"},
	} {
		if got := tok.Redact(c.in); got != c.want {
			t.Errorf("Redact(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := (callback.Token{}).Redact("AbCdE12345"); got != "AbCdE12345" {
		t.Errorf("the zero Token's Redact changed the text: %q", got)
	}
}

func TestTokenText(t *testing.T) {
	tok := callback.MustParseToken("AbCdE12345")
	text, err := tok.MarshalText()
	if err != nil || string(text) != tok.String() {
		t.Fatalf("MarshalText() = %q, %v; want the redacted form", text, err)
	}
	var back callback.Token
	err = back.UnmarshalText(text)
	if !errors.Is(err, validate.ErrInvalid) || !strings.Contains(err.Error(), "redacted") {
		t.Errorf("UnmarshalText(redacted) = %v, want an error that says it is the redacted form", err)
	}
	if err := back.UnmarshalText([]byte("AbCdE12345")); err != nil || back != tok {
		t.Errorf("UnmarshalText(raw) = %v, token equal %v", err, back == tok)
	}
	if err := back.UnmarshalText([]byte("short")); !errors.Is(err, validate.ErrInvalid) {
		t.Errorf("UnmarshalText(short) = %v", err)
	}
	if err := back.UnmarshalText(nil); err != nil || !back.IsZero() {
		t.Errorf("UnmarshalText(empty) = %v, zero %v", err, back.IsZero())
	}

	var s struct{ Token callback.Token }
	if err := json.Unmarshal([]byte(`{"Token":"AbCdE12345"}`), &s); err != nil || s.Token != tok {
		t.Errorf("json.Unmarshal: %v", err)
	}
	if err := json.Unmarshal([]byte(`{"Token":"AbCdE1234"}`), &s); !errors.Is(err, validate.ErrInvalid) {
		t.Errorf("json.Unmarshal of a short token: %v", err)
	}
	out, _ := json.Marshal(s)
	if strings.Contains(string(out), "AbCdE12345") {
		t.Errorf("json.Marshal shows the token: %s", out)
	}
	var zero struct{ Token callback.Token }
	if out, _ := json.Marshal(zero); string(out) != `{"Token":""}` {
		t.Errorf("zero Token marshals as %s", out)
	}
}

// TestParseTokenNoAllocs: parsing a token already held (a redelivery of the
// same message, say) allocates nothing.
func TestParseTokenNoAllocs(t *testing.T) {
	held := callback.MustParseToken("AbCdE12345")
	s := strings.Clone("AbCdE12345")
	if n := testing.AllocsPerRun(100, func() { _, _ = callback.ParseToken(s) }); n != 0 {
		t.Errorf("ParseToken allocates %v times per call, want 0", n)
	}
	runtime.KeepAlive(held)
}

var tokenRE = regexp.MustCompile(`^[a-zA-Z0-9]+$`)

// refToken is a plain reference of the model's rules for CallbackToken.
func refToken(s string) bool {
	return utf8.ValidString(s) && utf8.RuneCountInString(s) == 10 && tokenRE.MatchString(s)
}

func FuzzParseToken(f *testing.F) {
	for _, s := range []string{"AbCdE12345", "abcdefghi\n", "abcdefghié", "", "ZZZZZZZZZZ", "abcdefghi\xff", "0000000000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := callback.ParseToken(s)
		if ok := err == nil; ok != refToken(s) {
			t.Fatalf("ParseToken(%q) ok=%v, reference says %v", s, ok, !ok)
		}
		if err != nil {
			if !errors.Is(err, validate.ErrInvalid) {
				t.Fatalf("error does not match ErrInvalid: %v", err)
			}
			return
		}
		if tok.Reveal() != s {
			t.Fatalf("round trip: %q -> %q", s, tok.Reveal())
		}
		var back callback.Token
		if err := back.UnmarshalText([]byte(tok.Reveal())); err != nil || back != tok {
			t.Fatalf("UnmarshalText round trip failed: %v", err)
		}
		if strings.Contains(tok.String(), s) {
			t.Fatalf("String shows the token")
		}
	})
}

// TestTokenInUnexportedField checks what fmt shows of a Token it cannot call
// methods on: for every verb, the output for two different tokens differs only
// in addresses, so nothing printed depends on the value.
func TestTokenInUnexportedField(t *testing.T) {
	type wrapped struct{ tok callback.Token }
	addr := regexp.MustCompile(`(0x)?[0-9a-f]{6,}`)
	a, b := callback.MustParseToken("AbCdE12345"), callback.MustParseToken("SYZ8ExZ3Sd")
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%q"} {
		sa, sb := fmt.Sprintf(verb, wrapped{a}), fmt.Sprintf(verb, wrapped{b})
		if addr.ReplaceAllString(sa, "P") != addr.ReplaceAllString(sb, "P") {
			t.Errorf("%s: %q and %q differ in more than addresses", verb, sa, sb)
		}
		if !addr.MatchString(sa) {
			t.Errorf("%s: %q shows no pointer", verb, sa)
		}
	}
}
