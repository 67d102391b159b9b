package profile

import (
	"math"
	"resiltop/internal/model"
	"testing"
	"time"
)

func TestResilience4jGolden(t *testing.T) { convGolden(t, "resilience4j", resilience4j{}) }

// TestResilience4jSignals spells out the conventions the golden files hold,
// so a regenerated golden file cannot silently change them.
func TestResilience4jSignals(t *testing.T) {
	obs := resilience4j{}.Read(convMustParse(t, convSeedText(t, "resilience4j/spring_boot3.prom")))
	by := map[string]model.Observation{}
	for _, o := range obs {
		by[o.Dependency] = o
	}
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"pg open", by["pg"].Breaker, model.BreakerOpen},
		{"metrics_only shown as disabled", by["audit"].Breaker, model.BreakerDisabled},
		{"-1 failure rate unknown", math.IsNaN(by["mail"].BreakerFailureRate), true},
		{"failure rate kept", by["pg"].BreakerFailureRate, 62.5},
		{"logical successes from retry", by["pg"].Calls[model.OutcomeSuccess], 25.0},
		{"logical failures from retry", by["pg"].Calls[model.OutcomeFailure], 15.0},
		{"not permitted", by["pg"].Calls[model.OutcomeShortCircuited], 42.0},
		{"timeouts summed over groups, inside the retry's failures", by["pg"].TimedOutFailures, 8.0},
		{"no timeout outcome beside the retry's", hasKey(by["pg"].Calls, model.OutcomeTimeout), false},
		{"retries lower bound", by["pg"].Retries, 19.0},
		{"exhausted", by["pg"].RetriesExhausted, 14.0},
		{"bulkhead in flight", by["pg"].BulkheadInFlight, 22.0},
		{"thread pool in flight", by["stock"].BulkheadInFlight, 10.0},
		{"thread pool max", by["stock"].BulkheadMax, 20.0},
		{"histogram merged over kinds", by["pg"].Latency.Counts, []float64{10, 30, 80, 80}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !convEqual(tt.got, tt.want) {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
	convCheckSane(t, obs)
}

func TestResilience4jRealFixture(t *testing.T) {
	p := convReal(t, "r4j_datadog_fixture_metrics-micrometer.txt")
	if !(resilience4j{}).Detect(p) {
		t.Fatal("not detected")
	}
	obs := resilience4j{}.Read(p)
	convCheckSane(t, obs)
	if len(obs) != 1 || obs[0].Dependency != "backendA" {
		t.Fatalf("want one dependency backendA, got %+v", obs)
	}
	o := obs[0]
	tests := []struct {
		name      string
		got, want any
	}{
		{"one-hot state wins over the label-less series", o.Breaker, model.BreakerClosed},
		{"failure rate", o.BreakerFailureRate, 20.0},
		{"slow-call rate absent", math.IsNaN(o.BreakerSlowCallRate), true},
		{"pre-1.5 not permitted", o.Calls[model.OutcomeShortCircuited], 1.0},
		{"pre-1.3 retry gauge gives calls", o.Calls[model.OutcomeSuccess], 0.0},
		{"timeouts", o.Calls[model.OutcomeTimeout], 0.0},
		{"semaphore bulkhead in flight", o.BulkheadInFlight, 0.0},
		{"semaphore bulkhead max", o.BulkheadMax, 10.0},
		{"no buckets, no latency", o.Latency == nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !convEqual(tt.got, tt.want) {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func FuzzResilience4jRead(f *testing.F) {
	convFuzzProfile(f, resilience4j{}, convSeedFiles(f, "resilience4j")...)
}

// TestSplitPageFailureRateThroughStore reads a page whose families are split
// (as resilience4j 1.5 writes them) through the Store: a NaN failure rate is
// unknown there, never 0.
func TestSplitPageFailureRateThroughStore(t *testing.T) {
	s := model.NewStore(model.StoreOptions{Profiles: Builtin()})
	for sec := range 2 {
		p := convMustParse(t, convSeedText(t, "resilience4j/r4j_150_split.prom"))
		s.Ingest(model.Scrape{Target: "http://a/metrics", Time: at(float64(sec)), Page: p})
	}
	if got := dep(t, s.Snapshot(at(1), time.Minute), "stock").Breaker.FailureRate; !near(got, math.NaN()) {
		t.Errorf("failure rate %v, want unknown", got)
	}
}
