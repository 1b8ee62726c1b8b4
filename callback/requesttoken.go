package callback

import "github.com/stepcallback/sagemaker-callback/validate"

// RequestToken is a ClientRequestToken: the idempotency key of one
// completion, valid UTF-8 of 32 to 128 code points.
//
// Client derives one from each request (see the package doc); give one to a
// call with Options.RequestToken only to tie completions together in your own
// way. The zero RequestToken means "derive one".
type RequestToken struct {
	s string
}

// ParseRequestToken returns s as a RequestToken, or an error if s is not
// valid UTF-8 of 32 to 128 code points. The error is a *validate.Error.
func ParseRequestToken(s string) (RequestToken, error) {
	if err := validate.ClientRequestToken.Check(s); err != nil {
		return RequestToken{}, err
	}
	return RequestToken{s: s}, nil
}

// MustParseRequestToken is ParseRequestToken for tests and examples: it panics
// if s is not valid.
func MustParseRequestToken(s string) RequestToken {
	t, err := ParseRequestToken(s)
	if err != nil {
		panic(err)
	}
	return t
}

// String returns the token, or "" for the zero RequestToken. A
// ClientRequestToken is not a secret: it grants nothing without the
// CallbackToken.
func (t RequestToken) String() string { return t.s }

// IsZero reports whether t is the zero RequestToken.
func (t RequestToken) IsZero() bool { return t.s == "" }
