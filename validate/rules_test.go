package validate_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stepcallback/sagemaker-callback/validate"
)

// stringMembers are the Members whose values are strings (Check applies).
var stringMembers = []validate.Member{
	validate.CallbackToken,
	validate.FailureReason,
	validate.ClientRequestToken,
	validate.OutputParameterName,
	validate.OutputParameterValue,
}

// ruleWord is a word that every message of the rule contains.
var ruleWord = map[validate.Rule]string{
	validate.RuleRequired: "required",
	validate.RuleLength:   "length",
	validate.RuleUTF8:     "UTF-8",
	validate.RulePattern:  "pattern",
	validate.RuleCount:    "count",
	validate.RuleMember:   "check",
}

const valid validate.Rule = "" // a case that must pass

type checkCase struct {
	name string
	m    validate.Member
	s    string
	rule validate.Rule // valid ("") when s must pass
	n    int           // the Len the error reports (code points; -1 for RuleUTF8)
}

func checkCases() []checkCase {
	r := strings.Repeat
	tok, reason, crt := validate.CallbackToken, validate.FailureReason, validate.ClientRequestToken
	name, value := validate.OutputParameterName, validate.OutputParameterValue
	return []checkCase{
		// CallbackToken: exactly 10, ^[a-zA-Z0-9]+$.
		{"token/empty", tok, "", validate.RuleLength, 0},
		{"token/9", tok, "abcdefghi", validate.RuleLength, 9},
		{"token/10", tok, "abcdefghij", valid, 0},
		{"token/10 mixed", tok, "AbCdE12345", valid, 0},
		{"token/10 digits", tok, "0123456789", valid, 0},
		{"token/10 upper", tok, "ZZZZZZZZZZ", valid, 0},
		{"token/11", tok, "abcdefghijk", validate.RuleLength, 11},
		{"token/300", tok, r("a", 300), validate.RuleLength, 300},
		{"token/trailing newline", tok, "abcdefghi\n", validate.RulePattern, 10},
		{"token/leading newline", tok, "\nabcdefghi", validate.RulePattern, 10},
		{"token/9 + newline is 10 + 1", tok, "abcdefghij\n", validate.RuleLength, 11},
		{"token/NUL", tok, "abcdefghi\x00", validate.RulePattern, 10},
		{"token/space", tok, "abcdefghi ", validate.RulePattern, 10},
		{"token/dash", tok, "abcde-ghij", validate.RulePattern, 10},
		{"token/underscore", tok, "abcde_ghij", validate.RulePattern, 10},
		{"token/slash before 0", tok, "abcdefghi/", validate.RulePattern, 10},
		{"token/colon after 9", tok, "abcdefghi:", validate.RulePattern, 10},
		{"token/at before A", tok, "abcdefghi@", validate.RulePattern, 10},
		{"token/bracket after Z", tok, "abcdefghi[", validate.RulePattern, 10},
		{"token/backtick before a", tok, "abcdefghi`", validate.RulePattern, 10},
		{"token/brace after z", tok, "abcdefghi{", validate.RulePattern, 10},
		{"token/é is not [a-zA-Z]", tok, "abcdefghié", validate.RulePattern, 10},
		{"token/arabic-indic 3 is not [0-9]", tok, "abcdefghi٣", validate.RulePattern, 10},
		{"token/fullwidth A", tok, "abcdefghiＡ", validate.RulePattern, 10},
		{"token/10 × é", tok, r("é", 10), validate.RulePattern, 10},
		{"token/9 × é is 18 bytes", tok, r("é", 9), validate.RuleLength, 9},
		{"token/5 × é is 10 bytes", tok, r("é", 5), validate.RuleLength, 5},
		{"token/U+FFFD", tok, "abcdefghi\uFFFD", validate.RulePattern, 10},
		{"token/lone 0xff", tok, "abcdefghi\xff", validate.RuleUTF8, -1},
		{"token/lone 0xff, 10 bytes in all", tok, "\xffbcdefghij", validate.RuleUTF8, -1},
		{"token/surrogate", tok, "abcdefg\xed\xa0\x80", validate.RuleUTF8, -1},
		{"token/overlong", tok, "abcdefgh\xc0\xaf", validate.RuleUTF8, -1},
		{"token/truncated", tok, "abcdefgh\xe2\x82", validate.RuleUTF8, -1},

		// FailureReason: String256, at most 256 code points, any valid UTF-8.
		{"reason/empty", reason, "", valid, 0},
		{"reason/255", reason, r("a", 255), valid, 0},
		{"reason/256", reason, r("a", 256), valid, 0},
		{"reason/257", reason, r("a", 257), validate.RuleLength, 257},
		{"reason/5000", reason, r("x", 5000), validate.RuleLength, 5000},
		{"reason/256 × é (512 bytes)", reason, r("é", 256), valid, 0},
		{"reason/257 × é", reason, r("é", 257), validate.RuleLength, 257},
		{"reason/256 × € (768 bytes)", reason, r("€", 256), valid, 0},
		{"reason/257 × €", reason, r("€", 257), validate.RuleLength, 257},
		{"reason/256 × 😀 (1024 bytes, 512 UTF-16 units)", reason, r("😀", 256), valid, 0},
		{"reason/257 × 😀", reason, r("😀", 257), validate.RuleLength, 257},
		{"reason/255 a + 😀", reason, r("a", 255) + "😀", valid, 0},
		{"reason/256 a + 😀", reason, r("a", 256) + "😀", validate.RuleLength, 257},
		{"reason/NUL", reason, "\x00", valid, 0},
		{"reason/256 × NUL", reason, r("\x00", 256), valid, 0},
		{"reason/newlines", reason, "line 1\nline 2\r\n", valid, 0},
		{"reason/U+FFFD encoded is valid", reason, r("\uFFFD", 256), valid, 0},
		{"reason/U+10FFFF", reason, "\U0010FFFF", valid, 0},
		{"reason/lone 0xff", reason, "\xff", validate.RuleUTF8, -1},
		{"reason/0xff at the end", reason, r("a", 255) + "\xff", validate.RuleUTF8, -1},
		{"reason/invalid beats too long", reason, r("a", 300) + "\xff", validate.RuleUTF8, -1},
		{"reason/surrogate", reason, "disk \xed\xa0\x80 full", validate.RuleUTF8, -1},
		{"reason/overlong NUL", reason, "\xc0\x80", validate.RuleUTF8, -1},
		{"reason/overlong slash", reason, "\xe0\x80\xaf", validate.RuleUTF8, -1},
		{"reason/truncated", reason, "\xe2\x82", validate.RuleUTF8, -1},
		{"reason/truncated 4-byte", reason, "\xf0\x9f\x98", validate.RuleUTF8, -1},
		{"reason/above U+10FFFF", reason, "\xf4\x90\x80\x80", validate.RuleUTF8, -1},
		{"reason/lone continuation", reason, "\x80", validate.RuleUTF8, -1},

		// ClientRequestToken: 32 to 128 code points.
		{"crt/empty", crt, "", validate.RuleLength, 0},
		{"crt/31", crt, r("a", 31), validate.RuleLength, 31},
		{"crt/32", crt, r("a", 32), valid, 0},
		{"crt/uuid", crt, "123e4567-e89b-12d3-a456-426614174000", valid, 0},
		{"crt/128", crt, r("a", 128), valid, 0},
		{"crt/129", crt, r("a", 129), validate.RuleLength, 129},
		{"crt/31 × é (62 bytes)", crt, r("é", 31), validate.RuleLength, 31},
		{"crt/32 × é", crt, r("é", 32), valid, 0},
		{"crt/128 × 😀", crt, r("😀", 128), valid, 0},
		{"crt/129 × 😀", crt, r("😀", 129), validate.RuleLength, 129},
		{"crt/invalid", crt, r("a", 40) + "\xff", validate.RuleUTF8, -1},

		// OutputParameter.Name: String256.
		{"name/empty", name, "", valid, 0},
		{"name/256", name, r("n", 256), valid, 0},
		{"name/257", name, r("n", 257), validate.RuleLength, 257},
		{"name/256 × é", name, r("é", 256), valid, 0},
		{"name/257 × 😀", name, r("😀", 257), validate.RuleLength, 257},
		{"name/surrogate", name, "\xed\xa0\x80", validate.RuleUTF8, -1},

		// OutputParameter.Value: String1024.
		{"value/empty", value, "", valid, 0},
		{"value/1023", value, r("v", 1023), valid, 0},
		{"value/1024", value, r("v", 1024), valid, 0},
		{"value/1025", value, r("v", 1025), validate.RuleLength, 1025},
		{"value/1024 × 😀 (4096 bytes)", value, r("😀", 1024), valid, 0},
		{"value/1025 × 😀", value, r("😀", 1025), validate.RuleLength, 1025},
		{"value/1024 × é", value, r("é", 1024), valid, 0},
		{"value/1025 × é", value, r("é", 1025), validate.RuleLength, 1025},
		{"value/NUL", value, "\x00", valid, 0},
		{"value/invalid", value, "\xff", validate.RuleUTF8, -1},
	}
}

func TestCheck(t *testing.T) {
	for _, c := range checkCases() {
		t.Run(c.name, func(t *testing.T) {
			err := c.m.Check(c.s)
			if c.rule == valid {
				if err != nil {
					t.Fatalf("%v.Check: got %v, want nil", c.m, err)
				}
				return
			}
			sp := c.m.Spec()
			want := &validate.Error{Field: sp.Member, Rule: c.rule, Min: sp.Min, Max: sp.Max, Len: c.n, Secret: sp.Secret}
			if c.rule == validate.RulePattern {
				want.Pattern = sp.Pattern
			}
			checkError(t, err, want)
		})
	}
}

// checkError checks that err is an *Error equal to want, matches ErrInvalid,
// and that its message names the field and the rule.
func checkError(t *testing.T, err error, want *validate.Error) {
	t.Helper()
	if err == nil {
		t.Fatalf("got nil, want %v", want)
	}
	var e *validate.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %T %v, want a *validate.Error", err, err)
	}
	if *e != *want {
		t.Errorf("got  %+v\nwant %+v", *e, *want)
	}
	if !errors.Is(err, validate.ErrInvalid) {
		t.Errorf("errors.Is(%v, ErrInvalid) = false", err)
	}
	if !errors.Is(fmt.Errorf("wrapped: %w", err), validate.ErrInvalid) {
		t.Errorf("errors.Is(wrapped %v, ErrInvalid) = false", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, want.Field) {
		t.Errorf("message %q does not name the field %q", msg, want.Field)
	}
	if w := ruleWord[want.Rule]; !strings.Contains(msg, w) {
		t.Errorf("message %q does not name the rule (%q)", msg, w)
	}
}

func TestCheckNotAList(t *testing.T) {
	for _, c := range []struct {
		m     validate.Member
		field string
	}{
		{validate.OutputParameters, "OutputParameters"},
		{0, "Member(invalid)"},
		{validate.OutputParameterValue + 1, "Member(invalid)"},
		{255, "Member(invalid)"},
	} {
		checkError(t, c.m.Check("x"), &validate.Error{Field: c.field, Rule: validate.RuleMember})
	}
}

func TestCheckCount(t *testing.T) {
	m := validate.OutputParameters
	for _, n := range []int{0, 1, 49, 50} {
		if err := m.CheckCount(n); err != nil {
			t.Errorf("CheckCount(%d) = %v, want nil", n, err)
		}
	}
	for _, n := range []int{51, 52, 1000, -1} {
		checkError(t, m.CheckCount(n), &validate.Error{Field: "OutputParameters", Rule: validate.RuleCount, Min: 0, Max: 50, Len: n})
	}
	for _, m := range append(stringMembers, 0, 200) {
		checkError(t, m.CheckCount(1), &validate.Error{Field: m.String(), Rule: validate.RuleMember})
	}
}

// TestSpec pins each member's rules to AWS's model (api-facts §2).
func TestSpec(t *testing.T) {
	want := map[validate.Member]validate.Spec{
		validate.CallbackToken:        {Member: "CallbackToken", Shape: "CallbackToken", Required: true, Min: 10, Max: 10, Pattern: "^[a-zA-Z0-9]+$", Secret: true},
		validate.FailureReason:        {Member: "FailureReason", Shape: "String256", Max: 256},
		validate.ClientRequestToken:   {Member: "ClientRequestToken", Shape: "IdempotencyToken", Min: 32, Max: 128},
		validate.OutputParameters:     {Member: "OutputParameters", Shape: "OutputParameterList", Max: 50, List: true},
		validate.OutputParameterName:  {Member: "Name", Shape: "String256", Required: true, Max: 256},
		validate.OutputParameterValue: {Member: "Value", Shape: "String1024", Required: true, Max: 1024},
	}
	for m, w := range want {
		if got := m.Spec(); got != w {
			t.Errorf("%v.Spec() = %+v, want %+v", m, got, w)
		}
		if got := m.String(); got != w.Member {
			t.Errorf("String() = %q, want %q", got, w.Member)
		}
	}
	for _, m := range []validate.Member{0, validate.OutputParameterValue + 1, 255} {
		if got := m.Spec(); got != (validate.Spec{}) {
			t.Errorf("Member(%d).Spec() = %+v, want the zero Spec", m, got)
		}
		if got := m.String(); got != "Member(invalid)" {
			t.Errorf("Member(%d).String() = %q", m, got)
		}
	}

	// Spec returns a copy: changing it changes no rule.
	sp := validate.CallbackToken.Spec()
	sp.Max = 100
	if validate.CallbackToken.Check("abcdefghijk") == nil {
		t.Error("changing a returned Spec changed the rules")
	}
}
