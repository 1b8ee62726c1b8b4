package validate

import "unicode/utf8"

// hiBits has the top bit of each byte of a 64-bit word set: a word of ASCII
// bytes has none of them.
const hiBits = 0x8080808080808080

// word64 reads 8 bytes of s as a little-endian word; the compiler makes it one
// load.
func word64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// Length returns the number of Unicode scalar values (code points) in s, the
// unit in which Smithy's length trait measures a string, and whether s is valid
// UTF-8. When s is not valid UTF-8 it is not a valid value of any string member,
// and n is the count of code points before the first invalid byte.
// Surrogate code points (U+D800 to U+DFFF) encoded in UTF-8 are invalid, as Go
// and Smithy agree. Runs of ASCII are counted 32 bytes at a time.
func Length(s string) (n int, valid bool) {
	i := 0
	for i < len(s) {
		if s[i] < utf8.RuneSelf {
			// ASCII: skip whole words of it, then go on byte by byte.
			for len(s)-i >= 32 && (word64(s[i:])|word64(s[i+8:])|word64(s[i+16:])|word64(s[i+24:]))&hiBits == 0 {
				i += 32
				n += 32
			}
			for len(s)-i >= 8 && word64(s[i:])&hiBits == 0 {
				i += 8
				n += 8
			}
			for i < len(s) && s[i] < utf8.RuneSelf {
				i++
				n++
			}
			continue
		}
		// Two-byte sequences (Latin, Greek, Cyrillic, Hebrew, Arabic...)
		// without the general decoder: a lead byte C2 to DF, then a
		// continuation byte.
		if c := s[i]; 0xC2 <= c && c <= 0xDF && i+1 < len(s) && s[i+1]&0xC0 == 0x80 {
			i += 2
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
