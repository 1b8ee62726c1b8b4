package worker_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/smithy-go/tracing"

	"github.com/stepcallback/sagemaker-callback/callback"
	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
	"github.com/stepcallback/sagemaker-callback/callback/worker"
	"github.com/stepcallback/sagemaker-callback/retry"
)

// With a TracerProvider, each record has its span with its outcome, and the
// handler's context and the report's SDK spans are under it; with a
// MeterProvider, the records are counted by outcome, their age and the
// handlers' durations recorded, and nothing is left in flight.
func TestLambdaTracesAndMetrics(t *testing.T) {
	e := newEnv(t)
	rec := &recorder{} // telemetry_test.go
	opts := e.srv.Client().Options()
	opts.TracerProvider = rec
	cb := callback.New(sagemaker.New(opts), func(o *callback.Options) {
		o.Retry = retry.Policy{MaxAttempts: 2, InitialInterval: time.Millisecond, MaxInterval: time.Millisecond}
	})
	var handlerSpans sync.Map
	var a actions
	h := func(ctx context.Context, m callback.Message) ([]callback.Output, error) {
		if s, ok := tracing.GetSpan(ctx); ok {
			handlerSpans.Store(m.Token.Reveal(), s)
		}
		return a.handle(ctx, m)
	}
	fn := worker.LambdaHandler(cb, h, func(o *worker.LambdaOptions) {
		o.TracerProvider = rec
		o.MeterProvider = rec
		o.Logger = e.logger("lambda")
	})
	okTok, okARN := e.srv.NewStep()
	failTok, failARN := e.srv.NewStep()
	stopTok, stopARN := e.srv.NewStep()
	sent := strconv.FormatInt(time.Now().Add(-2*time.Second).UnixMilli(), 10)
	recs := []events.SQSMessage{
		record("ok", okTok, okARN, map[string]any{"do": "succeed", "n": 1}, callbacktest.MessageStatusExecuting),
		record("fail", failTok, failARN, map[string]any{"do": "fail"}, callbacktest.MessageStatusExecuting),
		record("stop", stopTok, stopARN, nil, callbacktest.MessageStatusStopping),
		rawRecord("junk", "hello"),
	}
	for i := range recs {
		recs[i].Attributes["SentTimestamp"] = sent
	}
	invoke(t, fn, 10*time.Second, recs...)

	rec.mu.Lock()
	spans := slices.Clone(rec.spans) // all ended: the function has returned
	rec.mu.Unlock()
	msgSpans := map[string]*recSpan{}
	for _, s := range spans {
		if s.name == "callback.worker.message" {
			msgSpans[fmt.Sprint(s.props["messaging.message.id"])] = s
		}
	}
	wantOutcome := map[string]string{"ok": "succeeded", "fail": "failed", "stop": "failed", "junk": "malformed"}
	if len(msgSpans) != len(wantOutcome) {
		t.Fatalf("%d message spans, want %d", len(msgSpans), len(wantOutcome))
	}
	for id, want := range wantOutcome {
		s := msgSpans[id]
		if s == nil || s.props["callback.outcome"] != want || !s.ended || s.kind != tracing.SpanKindConsumer {
			t.Errorf("span of %s: %+v; want outcome %s, ended, consumer", id, s, want)
			continue
		}
		for _, v := range s.props {
			for _, tok := range []string{okTok, failTok, stopTok} {
				if strings.Contains(fmt.Sprint(v), tok) {
					t.Errorf("span of %s shows a raw token", id)
				}
			}
		}
	}
	if msgSpans["ok"].status != tracing.SpanStatusOK || msgSpans["fail"].status != tracing.SpanStatusError {
		t.Errorf("statuses: ok %v, fail %v", msgSpans["ok"].status, msgSpans["fail"].status)
	}
	// The SDK's operation spans of each report are children of the record's.
	for id, op := range map[string]string{"ok": callbacktest.OpSuccess, "fail": callbacktest.OpFailure, "stop": callbacktest.OpFailure} {
		found := false
		for _, s := range spans {
			if s.parent == msgSpans[id] && strings.Contains(s.name, op) {
				found = true
			}
		}
		if !found {
			t.Errorf("no SDK span of %s under the span of %s", op, id)
		}
	}
	for tok, id := range map[string]string{okTok: "ok", failTok: "fail"} {
		if s, _ := handlerSpans.Load(tok); s != msgSpans[id] {
			t.Errorf("the handler of %s ran without its record's span on its context", id)
		}
	}

	counts := map[string]int{}
	for _, p := range rec.of("callback.worker.messages") {
		counts[fmt.Sprint(p.props["outcome"])] += int(p.value)
	}
	if counts["succeeded"] != 1 || counts["failed"] != 2 || counts["malformed"] != 1 || len(counts) != 3 {
		t.Errorf("callback.worker.messages %v", counts)
	}
	inflight := 0.0
	for _, p := range rec.of("callback.worker.inflight") {
		inflight += p.value
	}
	if inflight != 0 || len(rec.of("callback.worker.inflight")) == 0 {
		t.Errorf("callback.worker.inflight ends at %v", inflight)
	}
	if n := len(rec.of("callback.worker.handler.duration")); n != 2 {
		t.Errorf("%d handler durations, want 2 (the stopped step's handler does not run)", n)
	}
	ages := rec.of("callback.worker.message.age")
	if len(ages) != 4 {
		t.Errorf("%d ages, want 4", len(ages))
	}
	for _, p := range ages {
		if p.value < 1.9 || p.value > 60 {
			t.Errorf("message age %vs, want about 2s", p.value)
		}
	}
}
