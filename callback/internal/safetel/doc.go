// Package safetel lets package callback and its worker use the tracing and
// metrics providers a user plugs in (smithy-go's tracing.TracerProvider and
// metrics.MeterProvider) without letting them hurt: a nil provider, tracer,
// span, meter or instrument (a typed nil included) acts as none, and a panic
// in any of their methods is recovered and logged to the Guard's logger.
//
// A Guard makes the wrappers: a Tracer, which starts Spans, and a Meter,
// which makes instruments, from a provider. Tracer and Span, and what
// Provider returns, implement smithy-go's interfaces, so that they can be
// handed to the SDK; the SDK's tracer then starts only wrapped spans. The context a wrapped tracer returns is the provider's own:
// a span the provider put there stays its own type. A span the caller puts
// in a context for the SDK to find (tracing.WithSpan) should be the
// provider's own too: WithSpan does that with a Span.
//
// Logger does the same for a user's *slog.Logger: a panic of its handler is
// recovered, and the record dropped.
package safetel
