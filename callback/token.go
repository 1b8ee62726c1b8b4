package callback

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"

	"github.com/stepcallback/sagemaker-callback/validate"
)

// Token is a CallbackToken: the 10 ASCII letters and digits that a callback
// step's SQS message carries and that SendPipelineExecutionStepFailure and
// SendPipelineExecutionStepSuccess name the step by. A Token is a bearer
// credential for one step: whoever holds it can complete the step.
//
// A Token is made only by ParseToken, MustParseToken or UnmarshalText, so a
// non-zero Token is always valid. It is a small comparable value: use it with ==
// and as a map key. The zero Token is not a valid token; IsZero reports it and
// the calls of this package refuse it.
//
// Only Reveal returns the raw value. String, GoString, Format (every fmt verb),
// LogValue and MarshalText (and so encoding/json) show a redacted form, "Token(sha256:1a2b3c4d)",
// where the hex digits are the first four bytes of the SHA-256 of the raw value:
// the same token always shows the same fingerprint, so log lines can be
// correlated, but the value cannot be read back. Inside a struct field that fmt
// cannot reach through methods (an unexported field), the Token shows as an
// opaque number that is not the raw value either: the value is held under a
// keyed permutation whose key is drawn per process (see permute).
type Token struct {
	// v is the token's 60-bit packing (six bits a character, see pack) under
	// a keyed permutation of 64-bit values (see permute). The key is drawn
	// once per process, so v means nothing outside the process, and knowing
	// one token and its v does not give away other tokens.
	v uint64
}

// tokenLen is the length of every CallbackToken (the model's min and max).
const tokenLen = 10

const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// digits maps a byte to its index in alphabet, or -1.
var digits = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = int8(i)
	}
	return t
}()

// pack returns the 60-bit packing of a 10-byte string of [0-9A-Za-z], six
// bits a character, and whether s is one. The lookups are independent, so
// the processor does them at once.
func pack(s string) (uint64, bool) {
	if len(s) != tokenLen {
		return 0, false
	}
	_ = s[9]
	d0, d1, d2, d3, d4 := digits[s[0]], digits[s[1]], digits[s[2]], digits[s[3]], digits[s[4]]
	d5, d6, d7, d8, d9 := digits[s[5]], digits[s[6]], digits[s[7]], digits[s[8]], digits[s[9]]
	if d0|d1|d2|d3|d4|d5|d6|d7|d8|d9 < 0 {
		return 0, false
	}
	return uint64(d0)<<54 | uint64(d1)<<48 | uint64(d2)<<42 | uint64(d3)<<36 | uint64(d4)<<30 |
		uint64(d5)<<24 | uint64(d6)<<18 | uint64(d7)<<12 | uint64(d8)<<6 | uint64(d9), true
}

// unpack writes the token whose packing is n into b.
func unpack(n uint64, b *[tokenLen]byte) {
	for i := tokenLen - 1; i >= 0; i-- {
		b[i] = alphabet[n&63]
		n >>= 6
	}
}

// validPacking reports whether n is the packing of some token.
func validPacking(n uint64) bool {
	if n>>60 != 0 {
		return false
	}
	for i := 0; i < tokenLen; i++ {
		if n&63 >= uint64(len(alphabet)) {
			return false
		}
		n >>= 6
	}
	return true
}

// tokenKeys are the round keys of permute, drawn once per process such that
// no valid token is held as 0, the zero Token.
var tokenKeys = func() (k [4]uint64) {
	for {
		var b [32]byte
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24)
		for i := range k {
			k[i] = binary.LittleEndian.Uint64(b[8*i:])
		}
		if !validPacking(unpermute(0, &k)) {
			return k
		}
	}
}()

// round is the Feistel round function: a keyed 32-bit mix
// (multiply, xor-shift, multiply).
func round(r uint32, k uint64) uint32 {
	x := uint64(r)*0x9E3779B97F4A7C15 ^ k
	x ^= x >> 32
	x *= 0xD6E8FEB86659FD93
	return uint32(x >> 32)
}

// permute is a four-round Feistel network over the two 32-bit halves of n,
// keyed by k: a permutation of 64-bit values that hides the packing from
// fmt, which prints an unexported field's number without calling methods.
// It is not a standard cipher; it keeps tokens out of logs and out of casual
// reach, and unlike a plain XOR with a key, one known token and its number
// do not reveal the others (TestTokenKnownPlaintext).
func permute(n uint64, k *[4]uint64) uint64 {
	l, r := uint32(n>>32), uint32(n)
	for i := 0; i < 4; i++ {
		l, r = r, l^round(r, k[i])
	}
	return uint64(l)<<32 | uint64(r)
}

// unpermute is the inverse of permute.
func unpermute(v uint64, k *[4]uint64) uint64 {
	l, r := uint32(v>>32), uint32(v)
	for i := 3; i >= 0; i-- {
		l, r = r^round(l, k[i]), l
	}
	return uint64(l)<<32 | uint64(r)
}

// ParseToken returns the Token for s, or an error if s is not a valid
// CallbackToken: exactly 10 characters, each an ASCII letter or digit
// (^[a-zA-Z0-9]+$). The error is a *validate.Error naming the field and the
// rule; it never holds s. ParseToken allocates nothing when s is valid
// (TestParseTokenNoAllocs).
func ParseToken(s string) (Token, error) {
	n, ok := pack(s)
	if !ok {
		// Let validate say why: length in code points, UTF-8, or pattern.
		return Token{}, validate.CallbackToken.Check(s)
	}
	return Token{v: permute(n, &tokenKeys)}, nil
}

// MustParseToken is ParseToken for tests and examples with hard-coded tokens:
// it panics if s is not valid.
func MustParseToken(s string) Token {
	t, err := ParseToken(s)
	if err != nil {
		panic(err)
	}
	return t
}

// IsZero reports whether t is the zero Token, which is not a valid token.
func (t Token) IsZero() bool { return t.v == 0 }

// Reveal returns the raw token, as the wire needs it, or "" for the zero
// Token. It is the only method that shows the value: keep its result out of
// logs and errors.
func (t Token) Reveal() string {
	if t.v == 0 {
		return ""
	}
	var b [tokenLen]byte
	t.put(&b)
	return string(b[:])
}

// put writes the raw token into b.
func (t Token) put(b *[tokenLen]byte) {
	unpack(unpermute(t.v, &tokenKeys), b)
}

// Fingerprint returns the first 8 hex digits of the SHA-256 of the raw token,
// or "" for the zero Token. Two log lines with the same fingerprint almost
// surely concern the same token; the token cannot be recovered from it.
func (t Token) Fingerprint() string {
	if t.v == 0 {
		return ""
	}
	var b [tokenLen]byte
	t.put(&b)
	sum := sha256.Sum256(b[:])
	return hex.EncodeToString(sum[:4])
}

// String returns the redacted form "Token(sha256:1a2b3c4d)", or "Token(zero)"
// for the zero Token. It never returns the raw value.
func (t Token) String() string {
	if t.v == 0 {
		return "Token(zero)"
	}
	return "Token(sha256:" + t.Fingerprint() + ")"
}

// GoString returns the same redacted form as String, for %#v.
func (t Token) GoString() string { return "callback." + t.String() }

// Format prints the redacted form for every verb (%v %+v %s %q %x %d ...), so
// no fmt verb shows the raw value. %q quotes it; %#v gives GoString.
func (t Token) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		_, _ = f.Write([]byte(t.GoString()))
	case verb == 'q':
		_, _ = fmt.Fprintf(f, "%q", t.String())
	default:
		_, _ = f.Write([]byte(t.String()))
	}
}

// LogValue makes slog show the redacted form.
func (t Token) LogValue() slog.Value { return slog.StringValue(t.String()) }

// MarshalText returns the redacted form, not the token: a Token that ends up
// in JSON, a log record or a text encoding does not leak. To send or store the
// raw value on purpose, use Reveal. As a consequence, MarshalText and
// UnmarshalText do not round-trip; the zero Token marshals as "".
func (t Token) MarshalText() ([]byte, error) {
	if t.v == 0 {
		return []byte{}, nil
	}
	return []byte(t.String()), nil
}

// errRedacted is returned when the redacted form is unmarshalled.
var errRedacted = errors.New("invalid CallbackToken: this is the redacted form that MarshalText writes, not a token; marshal the raw value with Reveal")

// UnmarshalText parses a raw token as ParseToken does; "" gives the zero Token.
// The redacted form that MarshalText writes is refused with an error that
// says so.
func (t *Token) UnmarshalText(text []byte) error {
	if len(text) == 0 {
		*t = Token{}
		return nil
	}
	tok, err := ParseToken(string(text))
	if err != nil {
		if len(text) > 6 && string(text[:6]) == "Token(" {
			return fmt.Errorf("%w: %w", errRedacted, validate.ErrInvalid)
		}
		return err
	}
	*t = tok
	return nil
}
