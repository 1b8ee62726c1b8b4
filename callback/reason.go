package callback

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/stepcallback/sagemaker-callback/callback/internal/errtext"
	"github.com/stepcallback/sagemaker-callback/validate"
)

// MaxReasonLen is the most characters (Unicode code points) a FailureReason
// may hold: the request member's shape is String256. (The shape the model
// names FailureReason, with 1024, is used only for error messages.)
const MaxReasonLen = 256

// Reason is the FailureReason of a failed step: valid UTF-8 of at most 256
// code points. A Reason is made only by ParseReason, NewReason or
// ReasonFromError, so every Reason is valid. It is comparable.
//
// The zero Reason means "no FailureReason": the request omits the member.
// ParseReason("") returns the zero Reason too: the model allows an empty
// reason, and an empty reason and no reason say the same thing.
type Reason struct {
	s string
}

// ParseReason returns s as a Reason, or an error if s is not valid UTF-8 or
// holds more than 256 code points. The error is a *validate.Error. It allocates
// nothing when s is valid (TestParseReasonNoAllocs). Use NewReason where any text must be accepted.
func ParseReason(s string) (Reason, error) {
	if err := validate.FailureReason.Check(s); err != nil {
		return Reason{}, err
	}
	return Reason{s: s}, nil
}

// MustParseReason is ParseReason for tests and examples with hard-coded
// reasons: it panics if s is not valid.
func MustParseReason(s string) Reason {
	r, err := ParseReason(s)
	if err != nil {
		panic(err)
	}
	return r
}

// ReasonFromError returns NewReason(err.Error()), or the zero Reason for a nil
// error. It is the usual way to fail a step:
//
//	callback.Fail(ctx, tok, callback.ReasonFromError(err))
//
// It never panics: when err.Error() panics (a typed nil pointer whose Error
// method dereferences it, say), the reason says so: "error of type *pkg.E (a
// nil pointer): its Error method panicked: ...".
func ReasonFromError(err error) Reason {
	return NewReason(errtext.Of(err))
}

// NewReason returns s as a Reason and never fails. Invalid UTF-8 is repaired:
// each invalid sequence becomes U+FFFD. A text of more than 256 code points is
// cut on code-point boundaries and marked where it was cut:
//
//	<head> …[N chars cut]… <tail>
//
// It keeps the head (up to 64 code points) and the tail (the rest of the
// room). A Go error chain reads from the outside in ("load model: open
// weights: read s3://b/k: connection reset"): the head names the operation
// that failed and the tail holds the root cause, which is what an operator
// reading the pipeline's failure needs first; the middle is the layers of
// context between them, the cheapest to lose. Short texts are kept whole.
func NewReason(s string) Reason {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	n := utf8.RuneCountInString(s)
	if n <= MaxReasonLen {
		return Reason{s: s}
	}
	return Reason{s: cut(s, n)}
}

// reasonHead is how many code points of the head NewReason keeps.
const reasonHead = 64

// cut shortens s, valid UTF-8 of n > MaxReasonLen code points, to exactly
// MaxReasonLen code points: head, marker, tail.
func cut(s string, n int) string {
	// The marker's digits depend on how much is cut, which depends on the
	// marker's length: find the fixed point. It comes within a few rounds,
	// since a longer marker only ever cuts more.
	marker := ""
	tail := 0
	for {
		tail = MaxReasonLen - reasonHead - utf8.RuneCountInString(marker)
		m := " …[" + strconv.Itoa(n-reasonHead-tail) + " chars cut]… "
		if m == marker {
			break
		}
		marker = m
	}
	headEnd := byteOffset(s, reasonHead)
	tailStart := byteOffset(s, n-tail)
	var b strings.Builder
	b.Grow(headEnd + len(marker) + len(s) - tailStart)
	b.WriteString(s[:headEnd])
	b.WriteString(marker)
	b.WriteString(s[tailStart:])
	return b.String()
}

// byteOffset returns the byte offset of code point k in s.
func byteOffset(s string, k int) int {
	i := 0
	for ; k > 0 && i < len(s); k-- {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return i
}

// String returns the reason's text, or "" for the zero Reason.
func (r Reason) String() string { return r.s }

// IsZero reports whether r is the zero Reason: no FailureReason.
func (r Reason) IsZero() bool { return r.s == "" }

// MarshalText returns the reason's text.
func (r Reason) MarshalText() ([]byte, error) { return []byte(r.s), nil }

// UnmarshalText parses text with ParseReason.
func (r *Reason) UnmarshalText(text []byte) error {
	v, err := ParseReason(string(text))
	if err != nil {
		return err
	}
	*r = v
	return nil
}
