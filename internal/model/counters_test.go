package model

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"
)

// opsPage renders pg's calls and retries split by an operation label, one
// series per operation; an operation left out has vanished (or not yet
// appeared).
func opsPage(ops map[string]float64) string {
	var b strings.Builder
	names := make([]string, 0, len(ops))
	for op := range ops {
		names = append(names, op)
	}
	sort.Strings(names)
	b.WriteString("# TYPE resilience_calls_total counter\n")
	for _, op := range names {
		fmt.Fprintf(&b, "resilience_calls_total{dependency=\"pg\",operation=%q,outcome=\"success\"} %g\n", op, ops[op])
	}
	b.WriteString("# TYPE resilience_retries_total counter\n")
	for _, op := range names {
		fmt.Fprintf(&b, "resilience_retries_total{dependency=\"pg\",operation=%q} %g\n", op, ops[op])
	}
	return b.String()
}

// TestSummedCountersPerSeries checks counters summed over several series
// against Prometheus's sum(increase()) per series: a vanished series stops
// contributing, a new one contributes from its first sample on, a reset
// is one series' own.
func TestSummedCountersPerSeries(t *testing.T) {
	type ops = map[float64]map[string]float64
	tests := []struct {
		name  string
		pages ops
		want  float64 // per second, calls and retries alike
	}{{
		name:  "one series vanishes while another continues",
		pages: ops{0: {"a": 100, "b": 800}, 10: {"a": 110, "b": 800}, 20: {"a": 120}},
		want:  20.0 / 20, // the sum dropping 910 → 120 is no reset
	}, {
		name:  "a series appears with a count",
		pages: ops{0: {"a": 100}, 10: {"a": 110, "b": 500}, 20: {"a": 120, "b": 510}},
		want:  30.0 / 20, // b's 500 counted before the window began
	}, {
		name:  "one series resets",
		pages: ops{0: {"a": 100, "b": 800}, 10: {"a": 110, "b": 810}, 20: {"a": 5, "b": 820}},
		want:  (10 + 10 + 5 + 10) / 20.0,
	}, {
		name: "vanish, appear and reset at once",
		pages: ops{
			0: {"a": 100, "b": 800}, 10: {"a": 110, "b": 810},
			20: {"a": 3, "c": 50}, 30: {"a": 13, "c": 60},
		},
		want: (10 + 10 + 3 + 10 + 10) / 30.0,
	}, {
		// The Store keeps only the series of the last scrape (memory stays
		// bounded under label churn), so one missed scrape makes a series new.
		name:  "a series missing from one scrape counts again from its return",
		pages: ops{0: {"a": 100, "b": 800}, 10: {"a": 110}, 20: {"a": 120, "b": 830}},
		want:  20.0 / 20,
	}, {
		name:  "one series: unchanged, a decrease is a reset",
		pages: ops{0: {"a": 1000}, 10: {"a": 1100}, 20: {"a": 30}},
		want:  130.0 / 20,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pages := map[float64]string{}
			for sec, o := range tt.pages {
				pages[sec] = opsPage(o)
			}
			s := ingest(t, StoreOptions{}, "http://a/metrics", pages)
			d := dep(t, s.Snapshot(at(100), 5*time.Minute), "pg")
			if !near(d.CallsPerSecond, tt.want) || !near(d.RetriesPerSecond, tt.want) {
				t.Errorf("calls/s %v, retries/s %v, want %v", d.CallsPerSecond, d.RetriesPerSecond, tt.want)
			}
			for _, p := range d.History {
				if c := float64(p.CallsPerSecond); c < 0 || c > tt.want*float64(len(d.History))+1e-9 {
					t.Errorf("step %v: %v calls/s", p.Time, c)
				}
			}
		})
	}
}

// TestSummedCountersInConventionProfiles checks that the shared helpers of
// the convention profiles report series too: an Envoy response code that
// first appears is not an increase of its whole count.
func TestSummedCountersInConventionProfiles(t *testing.T) {
	envoyCodes := func(codes map[int]float64) string {
		var b strings.Builder
		b.WriteString("# TYPE envoy_cluster_upstream_rq counter\n")
		for _, c := range []int{200, 503, 504} {
			if n, ok := codes[c]; ok {
				fmt.Fprintf(&b, "envoy_cluster_upstream_rq{envoy_cluster_name=\"pg\",envoy_response_code=\"%d\"} %g\n", c, n)
			}
		}
		return b.String()
	}
	tests := []struct {
		name      string
		pages     map[float64]string
		calls, er float64
	}{{
		name: "a 5xx code appears with a count",
		pages: map[float64]string{
			0:  envoyCodes(map[int]float64{200: 100, 503: 5}),
			10: envoyCodes(map[int]float64{200: 190, 503: 5, 504: 40}),
			20: envoyCodes(map[int]float64{200: 280, 503: 15, 504: 40}),
		},
		calls: 190.0 / 20, er: 10.0 / 190,
	}, {
		name: "a 5xx code vanishes",
		pages: map[float64]string{
			0:  envoyCodes(map[int]float64{200: 100, 503: 5, 504: 500}),
			10: envoyCodes(map[int]float64{200: 190, 503: 15}),
		},
		calls: 10, er: 0.1,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ingest(t, StoreOptions{}, "http://a/metrics", tt.pages)
			d := dep(t, s.Snapshot(at(100), 5*time.Minute), "pg")
			if !near(d.CallsPerSecond, tt.calls) || !near(d.ErrorRatio, tt.er) {
				t.Errorf("calls/s %v error ratio %v, want %v %v", d.CallsPerSecond, d.ErrorRatio, tt.calls, tt.er)
			}
		})
	}
}
