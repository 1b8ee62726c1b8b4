package retry

import "time"

// Defaults for the fields of Policy. They fit low-rate calls that must not be
// lost, such as reporting the outcome of a pipeline step: a handful of
// attempts spread over a few seconds, all inside two minutes.
//
// With these values the waits before attempts 2 to 6 are about 250ms, 500ms,
// 1s, 2s and 4s (each ±50%), so the worst case is about 12s of waiting plus
// six attempts of at most 15s each.
const (
	// DefaultMaxAttempts is the default Policy.MaxAttempts: the first
	// attempt and five retries.
	DefaultMaxAttempts = 6

	// DefaultInitialInterval is the default Policy.InitialInterval: the
	// wait before the second attempt, before jitter.
	DefaultInitialInterval = 250 * time.Millisecond

	// DefaultMultiplier is the default Policy.Multiplier: each wait doubles.
	DefaultMultiplier = 2.0

	// DefaultMaxInterval is the default Policy.MaxInterval.
	DefaultMaxInterval = 10 * time.Second

	// DefaultRandomizationFactor is the default Policy.RandomizationFactor:
	// each wait is drawn from [0.5, 1.5] times the current interval.
	DefaultRandomizationFactor = 0.5

	// DefaultMaxElapsedTime is the default Policy.MaxElapsedTime.
	DefaultMaxElapsedTime = 2 * time.Minute

	// DefaultAttemptTimeout is the default Policy.AttemptTimeout. The SDK's
	// HTTP client sets no read timeout, so without one a hung connection
	// would hang the caller.
	DefaultAttemptTimeout = 15 * time.Second
)

// LongestInterval caps InitialInterval and MaxInterval: a longer wait is
// taken as this one. It keeps the jittered interval, computed in float64,
// far from overflowing a time.Duration.
const LongestInterval = 24 * time.Hour

// Policy says how often and for how long Do retries.
//
// The zero value of every field means "use the default" (the Default...
// constants), so Policy{} behaves exactly like DefaultPolicy(). For the
// fields that can be switched off — MaxAttempts, MaxElapsedTime,
// AttemptTimeout and RandomizationFactor — a negative value means "none":
// no attempt limit, no elapsed-time limit, no per-attempt timeout, no
// jitter.
//
// A Policy is a plain value: copy it, change a field, pass it on.
type Policy struct {
	// MaxAttempts is the number of attempts in total, the first one
	// included: 1 means no retry, 3 means the first attempt and two
	// retries. Zero means DefaultMaxAttempts. A negative value means no
	// limit on the number of attempts: Do then stops only on success, on an
	// error that is not retryable, on MaxElapsedTime or when ctx ends (with
	// a negative MaxElapsedTime as well, only ctx bounds the loop).
	MaxAttempts int

	// InitialInterval is the wait before the second attempt, before
	// jitter. Zero or negative means DefaultInitialInterval.
	InitialInterval time.Duration

	// MaxInterval caps the interval before jitter is applied, so with
	// jitter a single wait can reach MaxInterval*(1+RandomizationFactor)
	// (the semantics of backoff.ExponentialBackOff). Zero or negative means
	// DefaultMaxInterval; more than LongestInterval means LongestInterval.
	// A MaxInterval below InitialInterval is raised to InitialInterval.
	MaxInterval time.Duration

	// Multiplier grows the interval after each wait. Zero or negative means
	// DefaultMultiplier; a value between 0 and 1 is treated as 1 (every
	// wait is InitialInterval).
	Multiplier float64

	// RandomizationFactor spreads each wait over
	// [interval*(1-f), interval*(1+f)]. Zero means
	// DefaultRandomizationFactor; a negative value means no jitter (exact
	// waits); values above 1 are treated as 1.
	RandomizationFactor float64

	// MaxElapsedTime bounds the time, measured from the start of Do, after
	// which no new attempt starts: when the next wait would end past it, Do
	// stops with ErrElapsed instead of sleeping (backoff's
	// ExponentialBackOff.MaxElapsedTime). It does not cut an attempt that
	// is already running, so Do returns within about MaxElapsedTime +
	// AttemptTimeout. Zero means DefaultMaxElapsedTime; a negative value
	// means no limit (not backoff's 15 minutes).
	MaxElapsedTime time.Duration

	// AttemptTimeout is the deadline of each attempt: op gets a child
	// context that ends after AttemptTimeout. Zero means
	// DefaultAttemptTimeout; a negative value means no per-attempt timeout
	// (only the caller's context bounds an attempt).
	AttemptTimeout time.Duration
}

// DefaultPolicy returns a Policy with every field set to its default.
func DefaultPolicy() Policy {
	return Policy{
		MaxAttempts:         DefaultMaxAttempts,
		InitialInterval:     DefaultInitialInterval,
		MaxInterval:         DefaultMaxInterval,
		Multiplier:          DefaultMultiplier,
		RandomizationFactor: DefaultRandomizationFactor,
		MaxElapsedTime:      DefaultMaxElapsedTime,
		AttemptTimeout:      DefaultAttemptTimeout,
	}
}

// resolve returns p with zero fields set to their defaults and the
// remaining values brought into range. In the result, a negative
// MaxAttempts, MaxElapsedTime or AttemptTimeout still means "none", and
// RandomizationFactor is in [0, 1] (0: no jitter).
func (p Policy) resolve() Policy {
	if p.MaxAttempts == 0 {
		p.MaxAttempts = DefaultMaxAttempts
	}
	if p.InitialInterval <= 0 {
		p.InitialInterval = DefaultInitialInterval
	}
	if p.MaxInterval <= 0 {
		p.MaxInterval = DefaultMaxInterval
	}
	p.InitialInterval = min(p.InitialInterval, LongestInterval)
	p.MaxInterval = min(p.MaxInterval, LongestInterval)
	if p.MaxInterval < p.InitialInterval {
		p.MaxInterval = p.InitialInterval
	}
	switch {
	case !(p.Multiplier > 0): // zero, negative or NaN
		p.Multiplier = DefaultMultiplier
	case p.Multiplier < 1:
		p.Multiplier = 1
	}
	switch {
	case p.RandomizationFactor == 0:
		p.RandomizationFactor = DefaultRandomizationFactor
	case p.RandomizationFactor < 0:
		p.RandomizationFactor = 0
	case p.RandomizationFactor > 1:
		p.RandomizationFactor = 1
	case p.RandomizationFactor != p.RandomizationFactor: // NaN
		p.RandomizationFactor = DefaultRandomizationFactor
	}
	if p.MaxElapsedTime == 0 {
		p.MaxElapsedTime = DefaultMaxElapsedTime
	}
	if p.AttemptTimeout == 0 {
		p.AttemptTimeout = DefaultAttemptTimeout
	}
	return p
}
