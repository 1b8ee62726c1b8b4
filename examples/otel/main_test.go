package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"

	"github.com/stepcallback/sagemaker-callback/callback"
	"github.com/stepcallback/sagemaker-callback/callback/callbacktest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// The names issue 13 gives the library's spans and metrics.
const (
	spanMessage = "callback.worker.message"
	spanFail    = "callback.Fail"
	spanSucceed = "callback.Succeed"
	keyAttempts = "callback.attempts"
	keyOutcome  = "callback.outcome"
)

// runDemo runs the demo on a server of its own and returns what it recorded
// and every token the server knows.
func runDemo(t *testing.T) (*telemetry, []string) {
	t.Helper()
	srv := callbacktest.NewServer()
	defer srv.Close()
	tel, err := demo(context.Background(), srv)
	if err != nil {
		t.Fatal(err)
	}
	var tokens []string
	for _, st := range srv.Steps() {
		tokens = append(tokens, st.Token)
	}
	if len(tokens) != len(tel.steps) {
		t.Fatalf("the server knows %d steps, want %d", len(tokens), len(tel.steps))
	}
	return tel, tokens
}

// TestSpans checks the spans' names, attributes and parentage: each message
// is a callback.worker.message span with the worker's outcome; its report,
// callback.Succeed or callback.Fail, is its only child among the library's
// spans, with callback.attempts (an int) and callback.outcome; and each of
// the SDK's operation spans is a child of a report span, one per attempt.
func TestSpans(t *testing.T) {
	tel, _ := runDemo(t)
	byID := map[trace.SpanID]tracetest.SpanStub{}
	for _, s := range tel.spans {
		byID[s.SpanContext.SpanID()] = s
	}
	parentName := func(s tracetest.SpanStub) string {
		if !s.Parent.IsValid() {
			return "(none)"
		}
		p, ok := byID[s.Parent.SpanID()]
		if !ok {
			return "(not exported)"
		}
		return p.Name
	}
	named := func(names ...string) []tracetest.SpanStub {
		var out []tracetest.SpanStub
		for _, s := range tel.spans {
			for _, n := range names {
				if s.Name == n {
					out = append(out, s)
				}
			}
		}
		return out
	}

	// One message span per message, with the Result's outcome in lower case.
	messages := named(spanMessage)
	wantOutcomes := map[string]int{}
	for _, s := range tel.steps {
		wantOutcomes[strings.ToLower(s.outcome.String())]++
	}
	gotOutcomes := map[string]int{}
	for _, m := range messages {
		gotOutcomes[str(m.Attributes, keyOutcome)]++
	}
	if fmt.Sprint(gotOutcomes) != fmt.Sprint(wantOutcomes) {
		t.Errorf("%d %s spans, %s by outcome: %v, want %v", len(messages), spanMessage, keyOutcome, gotOutcomes, wantOutcomes)
	}

	// Each report span is the child of a message span, which has no other
	// report span: Settled and Succeeded report a success, Failed a failure.
	reports := named(spanFail, spanSucceed)
	if len(reports) != len(tel.steps) {
		t.Errorf("%d report spans (%s, %s), want %d, one per message", len(reports), spanFail, spanSucceed, len(tel.steps))
	}
	reportOf := map[trace.SpanID][]string{}
	for _, r := range reports {
		if p := parentName(r); p != spanMessage {
			t.Errorf("%s's parent is %s, want %s", r.Name, p, spanMessage)
			continue
		}
		reportOf[r.Parent.SpanID()] = append(reportOf[r.Parent.SpanID()], r.Name)
	}
	for _, m := range messages {
		want := spanSucceed
		if str(m.Attributes, keyOutcome) == "failed" {
			want = spanFail
		}
		if got := reportOf[m.SpanContext.SpanID()]; len(got) != 1 || got[0] != want {
			t.Errorf("a %s span with %s=%q has the report spans %v, want [%s]", spanMessage, keyOutcome, str(m.Attributes, keyOutcome), got, want)
		}
	}

	// The report spans' attributes and status: three reports acknowledged
	// (one after a throttle: two attempts), one refused as a conflict.
	outcomes := map[string]int{}
	attempts := 0
	for _, r := range reports {
		out := str(r.Attributes, keyOutcome)
		outcomes[out]++
		kv, ok := find(r.Attributes, keyAttempts)
		switch {
		case !ok:
			t.Errorf("%s has no %s attribute", r.Name, keyAttempts)
		case kv.Value.Type() != attribute.INT64:
			t.Errorf("%s's %s is a %v, want an int", r.Name, keyAttempts, kv.Value.Type())
		default:
			attempts += int(kv.Value.AsInt64())
		}
		if isErr := r.Status.Code == codes.Error; isErr != (out != "ok") {
			t.Errorf("%s with %s=%q has the status %v", r.Name, keyOutcome, out, r.Status.Code)
		}
	}
	if want := map[string]int{"ok": 3, "conflict": 1}; fmt.Sprint(outcomes) != fmt.Sprint(want) {
		t.Errorf("the report spans by %s: %v, want %v", keyOutcome, outcomes, want)
	}
	if attempts != 5 {
		t.Errorf("the report spans' %s add up to %d, want 5 (one throttled attempt)", keyAttempts, attempts)
	}

	// The handler's own span, one per message, is a child of the message's
	// span (worker.Options.TracerProvider: the handler's context holds it).
	handlers := named(spanHandler)
	if len(handlers) != len(tel.steps) {
		t.Errorf("%d %s spans, want %d", len(handlers), spanHandler, len(tel.steps))
	}
	for _, h := range handlers {
		if p := parentName(h); p != spanMessage {
			t.Errorf("the %s span's parent is %s, want %s", spanHandler, p, spanMessage)
		}
	}

	// The SDK's operation spans, one per attempt, are children of the report
	// spans of their operation.
	ops := named("SageMaker."+callback.OpFailure, "SageMaker."+callback.OpSuccess)
	if len(ops) != 5 {
		t.Errorf("%d SDK operation spans, want 5", len(ops))
	}
	for _, o := range ops {
		want := spanSucceed
		if strings.HasSuffix(o.Name, callback.OpFailure) {
			want = spanFail
		}
		if p := parentName(o); p != want {
			t.Errorf("the SDK's %s span's parent is %s, want %s", o.Name, p, want)
		}
	}
}

// TestMetrics checks the library's metrics: their names, kinds and
// attributes, and the counts the demo's four messages give.
func TestMetrics(t *testing.T) {
	tel, _ := runDemo(t)
	got := map[string]metricdata.Metrics{}
	for _, sm := range tel.metrics.ScopeMetrics {
		for _, m := range sm.Metrics {
			got[m.Name] = m
		}
	}
	wantKind := map[string]string{
		"callback.report.duration":         "metricdata.Histogram[float64]",
		"callback.report.attempts":         "metricdata.Histogram[int64]",
		"callback.worker.messages":         "metricdata.Sum[int64]",
		"callback.worker.handler.duration": "metricdata.Histogram[float64]",
		"callback.worker.message.age":      "metricdata.Histogram[float64]",
		"callback.worker.inflight":         "metricdata.Sum[int64]",
	}
	for name, kind := range wantKind {
		m, ok := got[name]
		if !ok {
			t.Errorf("no metric %s", name)
			continue
		}
		if k := fmt.Sprintf("%T", m.Data); k != kind {
			t.Errorf("%s is a %s, want a %s", name, k, kind)
		}
	}

	// callback.report.attempts: one record per report, by operation and
	// outcome; 5 attempts in all.
	if h, ok := got["callback.report.attempts"].Data.(metricdata.Histogram[int64]); ok {
		counts := map[string]uint64{}
		var sum int64
		for _, p := range h.DataPoints {
			op, _ := p.Attributes.Value("operation")
			out, _ := p.Attributes.Value("outcome")
			counts[op.AsString()+" "+out.AsString()] += p.Count
			sum += p.Sum
		}
		want := map[string]uint64{
			callback.OpSuccess + " ok":       2,
			callback.OpFailure + " ok":       1,
			callback.OpSuccess + " conflict": 1,
		}
		if fmt.Sprint(counts) != fmt.Sprint(want) {
			t.Errorf("callback.report.attempts by operation and outcome: %v, want %v", counts, want)
		}
		if sum != 5 {
			t.Errorf("callback.report.attempts adds up to %d, want 5", sum)
		}
	}
	if h, ok := got["callback.report.duration"].Data.(metricdata.Histogram[float64]); ok {
		var n uint64
		for _, p := range h.DataPoints {
			for _, key := range []attribute.Key{"operation", "outcome"} {
				if !p.Attributes.HasValue(key) {
					t.Errorf("a callback.report.duration point lacks the attribute %s: %v", key, p.Attributes.ToSlice())
				}
			}
			n += p.Count
		}
		if n != 4 {
			t.Errorf("callback.report.duration has %d records, want 4", n)
		}
	}

	// callback.worker.messages: one per message, by outcome.
	if s, ok := got["callback.worker.messages"].Data.(metricdata.Sum[int64]); ok {
		counts := map[string]int64{}
		for _, p := range s.DataPoints {
			out, _ := p.Attributes.Value("outcome")
			counts[out.AsString()] += p.Value
		}
		if want := map[string]int64{"succeeded": 2, "failed": 1, "settled": 1}; fmt.Sprint(counts) != fmt.Sprint(want) {
			t.Errorf("callback.worker.messages by outcome: %v, want %v", counts, want)
		}
	}
	for _, name := range []string{"callback.worker.handler.duration", "callback.worker.message.age"} {
		if h, ok := got[name].Data.(metricdata.Histogram[float64]); ok {
			var n uint64
			for _, p := range h.DataPoints {
				n += p.Count
			}
			if n != 4 {
				t.Errorf("%s has %d records, want 4", name, n)
			}
		}
	}
	// Every handler has returned: nothing is in flight.
	if s, ok := got["callback.worker.inflight"].Data.(metricdata.Sum[int64]); ok {
		var n int64
		for _, p := range s.DataPoints {
			n += p.Value
		}
		if n != 0 || s.IsMonotonic {
			t.Errorf("callback.worker.inflight: %d (monotonic %v), want 0, an up-down counter", n, s.IsMonotonic)
		}
	}
}

// TestNoRawToken checks that no step's raw token is in anything exported:
// every span (ours and the SDK's: names, attributes, events, status), every
// metric, and the printed output.
func TestNoRawToken(t *testing.T) {
	tel, tokens := runDemo(t)
	spans, err := json.Marshal(tel.spans)
	if err != nil {
		t.Fatal(err)
	}
	metrics, err := json.Marshal(tel.metrics)
	if err != nil {
		t.Fatal(err)
	}
	var printed bytes.Buffer
	tel.print(&printed, true)
	if !strings.Contains(printed.String(), "SageMaker."+callback.OpSuccess) {
		t.Fatalf("the printed output lacks the SDK's spans:\n%s", printed.String())
	}
	for _, tok := range tokens {
		for what, text := range map[string]string{"spans": string(spans), "metrics": string(metrics), "printed output": printed.String()} {
			if i := strings.Index(text, tok); i >= 0 {
				excerpt := text[max(0, i-120):min(len(text), i+len(tok)+20)]
				t.Errorf("a raw token is in the %s: ...%s...", what, strings.ReplaceAll(excerpt, tok, "<TOKEN>"))
			}
		}
	}
}

func TestRun(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), nil, &out, &errOut); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	for _, want := range []string{"steps:", "spans (one tree per trace):", "metrics:", "-all shows them"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the output lacks %q:\n%s", want, out.String())
		}
	}
	if code := run(context.Background(), []string{"extra"}, &out, &errOut); code != 2 {
		t.Errorf("an extra argument: exit %d, want 2", code)
	}
}

// find returns the attribute with key k.
func find(kvs []attribute.KeyValue, k attribute.Key) (attribute.KeyValue, bool) {
	for _, kv := range kvs {
		if kv.Key == k {
			return kv, true
		}
	}
	return attribute.KeyValue{}, false
}

// str returns the value of the attribute k as a string, "" when absent.
func str(kvs []attribute.KeyValue, k attribute.Key) string {
	kv, _ := find(kvs, k)
	return kv.Value.Emit()
}
