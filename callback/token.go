package callback

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"unique"

	"github.com/stepcallback/sagemaker-callback/validate"
)

// Token is a CallbackToken: the 10 ASCII letters and digits that a callback
// step's SQS message carries and that SendPipelineExecutionStepFailure and
// SendPipelineExecutionStepSuccess name the step by. A Token is a bearer
// credential for one step: whoever holds it can complete the step.
//
// A Token is made only by ParseToken, MustParseToken or UnmarshalText, so a
// non-zero Token is always valid. It is a small comparable value: use it with
// == and as a map key. The zero Token is not a valid token; IsZero reports it
// and the calls of this package refuse it.
//
// Only Reveal returns the raw value. String, GoString, Format (every fmt
// verb), LogValue and MarshalText (and so encoding/json) show a redacted form,
// "Token(sha256:1a2b3c4d)", where the hex digits are the first four bytes of
// the SHA-256 of the raw value: the same token always shows the same
// fingerprint, so log lines can be correlated, but the value cannot be read
// back. The value is held behind a unique.Handle, as net/netip holds an
// address's zone, so fmt shows a Token in a field it cannot call methods on
// (an unexported one) as a pointer, never as the value (TestTokenRedactedEverywhere).
// A reflection-based dumper that follows pointers would reach it: don't dump
// structs holding tokens with one.
type Token struct {
	h unique.Handle[string]
}

// ParseToken returns the Token for s, or an error if s is not a valid
// CallbackToken: exactly 10 characters, each an ASCII letter or digit
// (^[a-zA-Z0-9]+$). The error is a *validate.Error naming the field and the
// rule; it never holds s. Parsing a token seen before, while a Token for it is
// still held, allocates nothing (TestParseTokenNoAllocs).
func ParseToken(s string) (Token, error) {
	if err := validate.CallbackToken.Check(s); err != nil {
		return Token{}, err
	}
	return Token{unique.Make(s)}, nil
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
func (t Token) IsZero() bool { return t == Token{} }

// Reveal returns the raw token, as the wire needs it, or "" for the zero
// Token. It is the only method that shows the value: keep its result out of
// logs and errors.
func (t Token) Reveal() string {
	if t.IsZero() {
		return ""
	}
	return t.h.Value()
}

// Fingerprint returns the first 8 hex digits of the SHA-256 of the raw token,
// or "" for the zero Token. Two log lines with the same fingerprint almost
// surely concern the same token; the token cannot be recovered from it.
func (t Token) Fingerprint() string {
	if t.IsZero() {
		return ""
	}
	sum := sha256.Sum256([]byte(t.h.Value()))
	return hex.EncodeToString(sum[:4])
}

// String returns the redacted form "Token(sha256:1a2b3c4d)", or "Token(zero)"
// for the zero Token. It never returns the raw value.
func (t Token) String() string {
	if t.IsZero() {
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

// Redact returns s with every occurrence of t's raw value replaced by its
// redacted form, t.String(): for text from elsewhere (the service's
// messages, a handler's error) that may echo the token. The zero Token
// changes nothing.
func (t Token) Redact(s string) string {
	raw := t.Reveal()
	if raw == "" || !strings.Contains(s, raw) {
		return s
	}
	return strings.ReplaceAll(s, raw, t.String())
}

// LogValue makes slog show the redacted form.
func (t Token) LogValue() slog.Value { return slog.StringValue(t.String()) }

// MarshalText returns the redacted form, not the token: a Token that ends up
// in JSON, a log record or a text encoding does not leak. To send or store the
// raw value on purpose, use Reveal. As a consequence, MarshalText and
// UnmarshalText do not round-trip; the zero Token marshals as "".
func (t Token) MarshalText() ([]byte, error) {
	if t.IsZero() {
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
		if strings.HasPrefix(string(text), "Token(") {
			return fmt.Errorf("%w: %w", errRedacted, validate.ErrInvalid)
		}
		return err
	}
	*t = tok
	return nil
}
