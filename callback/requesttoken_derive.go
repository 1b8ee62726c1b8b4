package callback

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
)

// requestTokenDomain separates the derivation's hash input from any other use
// of SHA-256. Changing it, or the encoding below, changes every token and so
// breaks idempotency across a release: TestRequestTokenGolden pins both.
const requestTokenDomain = "github.com/stepcallback/sagemaker-callback ClientRequestToken v1"

// requestTokenPrefix starts every derived token and names its version.
const requestTokenPrefix = "scb1-"

// derivedLen is the length of a derived token: the prefix and 64 hex digits.
const derivedLen = len(requestTokenPrefix) + 2*sha256.Size

// FailureRequestToken returns the ClientRequestToken that Client.Fail sends
// for tok and reason: "scb1-" and the SHA-256, in hex, of a versioned,
// domain-separated, length-prefixed encoding of the operation, the token and
// the reason. It is 69 characters long (within the model's 32 to 128), the
// same in every process and release for the same input, and different for a
// different operation, token or reason.
//
// The hash input is, with each string written as its length in bytes (an
// unsigned varint, as encoding/binary.AppendUvarint writes it) followed by its
// bytes: the domain "github.com/stepcallback/sagemaker-callback ClientRequestToken v1",
// the operation's name (OpFailure), the raw token, then the byte 0 for the zero
// Reason or the byte 1 and the reason.
//
// Build reasons from stable text (no timestamps or attempt numbers) when a
// report repeated after a restart should be the same request.
func FailureRequestToken(tok Token, reason Reason) RequestToken {
	var stack [stackBuf]byte
	b := buffer(stack[:0], headerLen+1+lenField(reason.s))
	b = header(b, OpFailure, tok)
	if reason.IsZero() {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		b = field(b, reason.s)
	}
	return RequestToken{s: digest(b)}
}

// SuccessRequestToken returns the ClientRequestToken that Client.Succeed
// sends for tok and outputs, derived as FailureRequestToken is: the same for
// the same operation, token and outputs in the same order, and different when
// any of them differs. After the domain, the operation's name (OpSuccess) and
// the token, the hash input holds the number of outputs as a varint and each
// output's name and value, length-prefixed.
func SuccessRequestToken(tok Token, outputs []Output) RequestToken {
	need := headerLen + binary.MaxVarintLen64
	for i := range outputs {
		need += lenField(outputs[i].name) + lenField(outputs[i].value)
	}
	var stack [stackBuf]byte
	b := buffer(stack[:0], need)
	b = header(b, OpSuccess, tok)
	b = binary.AppendUvarint(b, uint64(len(outputs)))
	for i := range outputs {
		b = field(b, outputs[i].name)
		b = field(b, outputs[i].value)
	}
	return RequestToken{s: digest(b)}
}

// stackBuf is the size of the buffer that derivations use without
// allocating: enough for a failure with a reason of up to about 180 ASCII
// characters, or a success with a few short outputs.
const stackBuf = 384

// headerLen bounds what header appends.
const headerLen = len(requestTokenDomain) + len(OpFailure) + 10 + 3*binary.MaxVarintLen64

// lenField bounds what field appends for s.
func lenField(s string) int { return binary.MaxVarintLen64 + len(s) }

// buffer returns b if it can hold need bytes, or a new buffer that can, so
// that a derivation allocates its buffer at most once.
func buffer(b []byte, need int) []byte {
	if need <= cap(b) {
		return b
	}
	return make([]byte, 0, need)
}

// header appends the domain, the operation and the token, each
// length-prefixed, so that no two inputs share an encoding.
func header(b []byte, op string, tok Token) []byte {
	b = field(b, requestTokenDomain)
	b = field(b, op)
	return field(b, tok.Reveal())
}

func field(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	var out [derivedLen]byte
	copy(out[:], requestTokenPrefix)
	hex.Encode(out[len(requestTokenPrefix):], sum[:])
	return string(out[:])
}
