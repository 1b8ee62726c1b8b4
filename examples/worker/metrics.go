package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/aws/smithy-go/metrics"
)

// meters is a small metrics.MeterProvider of smithy-go that keeps, for each
// instrument and set of attributes, the count, sum, least and greatest of
// what was recorded, and prints them: enough to see what the worker
// measures without an OpenTelemetry SDK.
type meters struct {
	mu     sync.Mutex
	series map[string]*series // by instrument name and attributes
}

// series is what one instrument recorded with one set of attributes.
type series struct {
	kind             string // "counter", "updown" or "histogram"
	n                int
	sum, least, most float64
}

func newMeters() *meters { return &meters{series: map[string]*series{}} }

// Meter returns a meter whose counters and histograms record into m; the
// other instruments record nothing.
func (m *meters) Meter(string, ...metrics.MeterOption) metrics.Meter {
	return meter{Meter: metrics.NopMeterProvider{}.Meter(""), m: m}
}

type meter struct {
	metrics.Meter
	m *meters
}

func (mt meter) Int64Counter(name string, _ ...metrics.InstrumentOption) (metrics.Int64Counter, error) {
	return instrument{mt.m, name, "counter"}, nil
}

func (mt meter) Int64UpDownCounter(name string, _ ...metrics.InstrumentOption) (metrics.Int64UpDownCounter, error) {
	return instrument{mt.m, name, "updown"}, nil
}

func (mt meter) Int64Histogram(name string, _ ...metrics.InstrumentOption) (metrics.Int64Histogram, error) {
	return instrument{mt.m, name, "histogram"}, nil
}

func (mt meter) Float64Histogram(name string, _ ...metrics.InstrumentOption) (metrics.Float64Histogram, error) {
	return floatInstrument{instrument{mt.m, name, "histogram"}}, nil
}

type instrument struct {
	m          *meters
	name, kind string
}

func (i instrument) Add(_ context.Context, v int64, opts ...metrics.RecordMetricOption) {
	i.add(float64(v), opts)
}

func (i instrument) Record(_ context.Context, v int64, opts ...metrics.RecordMetricOption) {
	i.add(float64(v), opts)
}

type floatInstrument struct{ instrument }

func (i floatInstrument) Record(_ context.Context, v float64, opts ...metrics.RecordMetricOption) {
	i.add(v, opts)
}

func (i instrument) add(v float64, opts []metrics.RecordMetricOption) {
	var o metrics.RecordMetricOptions
	for _, fn := range opts {
		fn(&o)
	}
	var attrs []string
	for k, v := range o.Properties.Values() {
		attrs = append(attrs, fmt.Sprintf("%v=%v", k, v))
	}
	slices.Sort(attrs)
	key := i.name
	if len(attrs) > 0 {
		key += "{" + strings.Join(attrs, ",") + "}"
	}
	i.m.mu.Lock()
	defer i.m.mu.Unlock()
	s := i.m.series[key]
	if s == nil {
		s = &series{kind: i.kind, least: v, most: v}
		i.m.series[key] = s
	}
	s.n++
	s.sum += v
	s.least, s.most = min(s.least, v), max(s.most, v)
}

// print writes one line per series, sorted by name: a counter's total (an
// up-down counter's current value), or a histogram's count, sum, least and
// greatest.
func (m *meters) print(w io.Writer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	keys := make([]string, 0, len(m.series))
	for k := range m.series {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		s := m.series[k]
		switch s.kind {
		case "histogram":
			fmt.Fprintf(w, "  %-52s count %d, sum %.4g, min %.4g, max %.4g\n", k, s.n, s.sum, s.least, s.most)
		default:
			fmt.Fprintf(w, "  %-52s %g\n", k, s.sum)
		}
	}
}
