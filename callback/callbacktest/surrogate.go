package callbacktest

import (
	"encoding/json"
	"regexp"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// A JSON string may hold a lone UTF-16 surrogate as an escape ("\ud800"),
// which encoding/json reads as U+FFFD. SQS reads it as the character
// #xD800 and refuses it in a message body or attribute value with
// InvalidMessageContents; the fake must not accept, and change, such a body.
// So the message bodies and attribute values of a JSON request with such an
// escape are read again here, each lone surrogate kept as the three bytes
// UTF-8 would give it (ED A0 80 for U+D800): not valid UTF-8, so checkText
// refuses them, naming the character as SQS does.

// surrogateEscape finds a JSON escape of a surrogate, paired or not.
var surrogateEscape = regexp.MustCompile(`\\u[dD][89a-fA-F]`)

// keepSurrogates reads again, from body, the members of in that hold
// message contents, when body has a surrogate escape.
func keepSurrogates(body []byte, in *sqsInput) {
	if !surrogateEscape.Match(body) {
		return
	}
	type attr struct{ StringValue json.RawMessage }
	type message struct {
		MessageBody       json.RawMessage
		MessageAttributes map[string]attr
	}
	var raw struct {
		message
		Entries []message
	}
	if json.Unmarshal(body, &raw) != nil {
		return // read once already: cannot happen
	}
	reread := func(dst *string, src json.RawMessage) {
		if s, ok := unquoteKeepingSurrogates(src); ok && dst != nil {
			*dst = s
		}
	}
	attrs := func(dst map[string]attrInput, src map[string]attr) {
		for k, a := range src {
			if v, ok := dst[k]; ok {
				reread(v.StringValue, a.StringValue)
			}
		}
	}
	reread(in.MessageBody, raw.MessageBody)
	attrs(in.MessageAttributes, raw.MessageAttributes)
	for i, e := range raw.Entries {
		if i < len(in.Entries) {
			reread(in.Entries[i].MessageBody, e.MessageBody)
			attrs(in.Entries[i].MessageAttributes, e.MessageAttributes)
		}
	}
}

// unquoteKeepingSurrogates returns the string of a JSON string literal, as
// encoding/json does, except that a lone surrogate escape gives the
// surrogate's three bytes instead of U+FFFD. It reports false for anything
// but a string literal.
func unquoteKeepingSurrogates(lit []byte) (string, bool) {
	if len(lit) < 2 || lit[0] != '"' || lit[len(lit)-1] != '"' {
		return "", false
	}
	s := lit[1 : len(lit)-1]
	var out []byte
	hex4 := func(i int) (rune, bool) {
		if i+6 > len(s) || s[i] != '\\' || s[i+1] != 'u' {
			return 0, false
		}
		n, err := strconv.ParseUint(string(s[i+2:i+6]), 16, 16)
		return rune(n), err == nil
	}
	for i := 0; i < len(s); {
		if s[i] != '\\' {
			out = append(out, s[i])
			i++
			continue
		}
		if i+1 >= len(s) {
			return "", false
		}
		if s[i+1] != 'u' {
			c, ok := map[byte]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}[s[i+1]]
			if !ok {
				return "", false
			}
			out = append(out, c)
			i += 2
			continue
		}
		c, ok := hex4(i)
		if !ok {
			return "", false
		}
		i += 6
		if utf16.IsSurrogate(c) {
			if lo, ok := hex4(i); ok && c < 0xDC00 && lo >= 0xDC00 && lo <= 0xDFFF {
				out = utf8.AppendRune(out, utf16.DecodeRune(c, lo))
				i += 6
				continue
			}
			out = append(out, 0xE0|byte(c>>12), 0x80|byte(c>>6&0x3F), 0x80|byte(c&0x3F))
			continue
		}
		out = utf8.AppendRune(out, c)
	}
	return string(out), true
}

// surrogateIn returns the first surrogate that s holds as its three bytes
// (see keepSurrogates).
func surrogateIn(s string) (rune, bool) {
	for i := 0; i+3 <= len(s); i++ {
		if s[i] == 0xED && s[i+1] >= 0xA0 && s[i+1] <= 0xBF && s[i+2] >= 0x80 && s[i+2] <= 0xBF {
			return rune(s[i]&0x0F)<<12 | rune(s[i+1]&0x3F)<<6 | rune(s[i+2]&0x3F), true
		}
	}
	return 0, false
}
