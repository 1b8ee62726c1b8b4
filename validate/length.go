package validate

import "unicode/utf8"

// Length returns the number of Unicode scalar values (code points) in s, the
// unit in which Smithy's length trait measures a string, and whether s is valid
// UTF-8. When s is not valid UTF-8 it is not a valid value of any string member,
// and n is the count of code points before the first invalid byte.
// Surrogate code points (U+D800 to U+DFFF) encoded in UTF-8 are invalid, as Go
// and Smithy agree.
func Length(s string) (n int, valid bool) {
	i := 0
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			n++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return n, false
		}
		i += size
		n++
	}
	return n, true
}

// IsAlnum reports whether s matches the CallbackToken pattern ^[a-zA-Z0-9]+$:
// it is not empty and every byte is an ASCII letter or digit. It uses no
// regular expression. A trailing newline, a NUL and non-ASCII letters or
// digits such as "é" or "٣" do not match, as in ECMA-262 and Go's regexp.
func IsAlnum(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}
