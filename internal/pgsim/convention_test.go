package pgsim

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

var update = flag.Bool("update", false, "regenerate testdata/pgsim/<scenario>.prom from real runs")

// conventionFamilies are the resiltop convention's families and the labels
// each sample carries besides dependency.
var conventionFamilies = []struct {
	name   string
	typ    dto.MetricType
	labels []string
}{
	{"resilience_circuit_breaker_state", dto.MetricType_GAUGE, []string{"state"}},
	{"resilience_circuit_breaker_transitions_total", dto.MetricType_COUNTER, []string{"from", "to"}},
	{"resilience_circuit_breaker_last_transition_timestamp_seconds", dto.MetricType_GAUGE, nil},
	{"resilience_calls_total", dto.MetricType_COUNTER, []string{"outcome"}},
	{"resilience_attempt_duration_seconds", dto.MetricType_HISTOGRAM, nil},
	{"resilience_retries_total", dto.MetricType_COUNTER, []string{"idempotent"}},
	{"resilience_retries_exhausted_total", dto.MetricType_COUNTER, nil},
	{"resilience_timeout_seconds", dto.MetricType_GAUGE, nil},
	{"resilience_retry_max_attempts", dto.MetricType_GAUGE, nil},
	{"resilience_bulkhead_in_flight", dto.MetricType_GAUGE, nil},
	{"resilience_bulkhead_max_concurrent", dto.MetricType_GAUGE, nil},
	{"resilience_pool_connections", dto.MetricType_GAUGE, []string{"state"}},
	{"resilience_pool_max_connections", dto.MetricType_GAUGE, nil},
	{"resilience_pool_pending_acquires", dto.MetricType_GAUGE, nil},
	{"resilience_pool_acquire_timeouts_total", dto.MetricType_COUNTER, nil},
	{"resilience_pending_operations", dto.MetricType_GAUGE, nil},
	{"resilience_pending_oldest_age_seconds", dto.MetricType_GAUGE, nil},
	{"resilience_pending_created_total", dto.MetricType_COUNTER, nil},
	{"resilience_pending_resolved_total", dto.MetricType_COUNTER, []string{"outcome"}},
}

// calledByDefault are the gateway dependencies the order service calls
// unless told otherwise (pg2 only with Config.Failover).
var calledByDefault = []string{DepPG, DepMail, DepStock}

// dbFamilies are the families the db pool exports: it has no breaker,
// bulkhead or PENDING backlog, so it exports none of theirs.
var dbFamilies = []string{
	"resilience_calls_total", "resilience_attempt_duration_seconds", "resilience_retries_total",
	"resilience_retries_exhausted_total", "resilience_retry_max_attempts",
	"resilience_timeout_seconds", "resilience_pool_connections", "resilience_pool_max_connections",
	"resilience_pool_pending_acquires", "resilience_pool_acquire_timeouts_total",
}

// checkConvention asserts that a page carries the whole convention for the
// three gateway dependencies, with one-hot breaker states and histograms
// that reach past the timeout, and the pool's part of it for db.
func checkConvention(t *testing.T, fams map[string]*dto.MetricFamily) {
	t.Helper()
	for _, want := range conventionFamilies {
		f := fams[want.name]
		if f == nil {
			t.Errorf("family %s missing", want.name)
			continue
		}
		if f.GetType() != want.typ {
			t.Errorf("%s has type %v, want %v", want.name, f.GetType(), want.typ)
		}
		seen := map[string]bool{}
		for _, m := range f.Metric {
			names := map[string]bool{}
			for _, lp := range m.Label {
				names[lp.GetName()] = true
				if lp.GetName() == "dependency" {
					seen[lp.GetValue()] = true
				}
			}
			for _, l := range append([]string{"dependency"}, want.labels...) {
				if !names[l] {
					t.Errorf("%s sample without label %s", want.name, l)
				}
			}
		}
		for _, d := range calledByDefault {
			if !seen[d] {
				t.Errorf("%s has no series for dependency %s", want.name, d)
			}
		}
		if seen[DepDB] != slices.Contains(dbFamilies, want.name) {
			t.Errorf("%s: series for db %v, want %v", want.name, seen[DepDB], !seen[DepDB])
		}
	}
	for _, d := range calledByDefault {
		if sum := value(fams, "resilience_circuit_breaker_state", "dependency", d); sum != 1 {
			t.Errorf("%s breaker state gauges sum to %v, want one-hot", d, sum)
		}
		for _, o := range callOutcomes {
			if !hasSeries(fams["resilience_calls_total"], "dependency", d, "outcome", o) {
				t.Errorf("calls_total{%s,%s} not exported from the start", d, o)
			}
		}
		timeout := value(fams, "resilience_timeout_seconds", "dependency", d)
		for _, m := range fams["resilience_attempt_duration_seconds"].GetMetric() {
			if !hasLabels(m, "dependency", d) {
				continue
			}
			b := m.GetHistogram().GetBucket()
			if len(b) == 0 || b[len(b)-1].GetUpperBound() <= timeout {
				t.Errorf("%s histogram buckets stop at or below the timeout %vs", d, timeout)
			}
		}
	}
	if !hasSeries(fams["pgsim_orders_total"], "status", orderRejected) {
		t.Errorf("pgsim_orders_total{status} missing")
	}
}

func hasSeries(f *dto.MetricFamily, labels ...string) bool {
	for _, m := range f.GetMetric() {
		if hasLabels(m, labels...) {
			return true
		}
	}
	return false
}

func TestMetricsFollowTheConvention(t *testing.T) {
	t.Parallel()
	s := startSim(t, Config{RPS: 20, Timing: fastTiming()})
	checkConvention(t, scrape(t, s.MetricsURL)) // known zeros from the start
	time.Sleep(2 * time.Second)
	fams := scrape(t, s.MetricsURL)
	checkConvention(t, fams)
	if v := value(fams, "resilience_timeout_seconds", "dependency", DepPG); v != 3 {
		t.Errorf("pg timeout gauge %v, want 3", v)
	}
	if v := value(fams, "resilience_calls_total", "dependency", DepPG, "outcome", outcomeSuccess); v == 0 {
		t.Errorf("no successful pg calls after 2 s at 20 rps")
	}
	gw := scrape(t, s.GatewayMetricsURL)
	if gw["pgsim_duplicate_charges_total"] == nil {
		t.Errorf("gateway does not export pgsim_duplicate_charges_total")
	}
}

// TestCapturedPages checks testdata/pgsim/<scenario>.prom, one per
// scenario, and regenerates them from real runs with -update:
//
//	go test ./internal/pgsim -run TestCapturedPages -update
func TestCapturedPages(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("..", "..", "testdata", "pgsim")
	for _, scen := range ScenarioNames() {
		t.Run(scen, func(t *testing.T) {
			t.Parallel()
			earlier, later := filepath.Join(dir, scen+".earlier.prom"), filepath.Join(dir, scen+".prom")
			if *update {
				capturePages(t, scen, earlier, later)
			}
			for _, path := range []string{earlier, later} {
				data, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (regenerate with -update)", err)
				}
				if !strings.HasPrefix(string(data), "# ") {
					t.Errorf("%s does not start with a # comment saying what it is", path)
				}
				fams := parsePage(t, data)
				checkConvention(t, fams)
				if calls := value(fams, "resilience_calls_total", "dependency", DepPG); calls == 0 {
					t.Errorf("%s: no pg calls captured", path)
				}
			}
		})
	}
}

// capturePages runs pgsim with pg steady for 5 s, then under scen, and
// writes the order service's page 8 s and 10 s into the scenario: two pages
// 2 s apart, so a reader of them has rates as well as gauges.
func capturePages(t *testing.T, scen, earlier, later string) {
	s := startSim(t, Config{RPS: 20, Seed: 42, Logf: func(string, ...any) {}})
	time.Sleep(5 * time.Second)
	if err := s.SetScenario(DepPG, scen); err != nil {
		t.Fatal(err)
	}
	time.Sleep(8 * time.Second)
	writePage(t, s.MetricsURL, earlier, fmt.Sprintf("pg steady for 5 s then %s for 8 s", scen))
	time.Sleep(2 * time.Second)
	writePage(t, s.MetricsURL, later, fmt.Sprintf("pg steady for 5 s then %s for 10 s", scen))
}

// writePage fetches url and writes it to path behind a comment saying what it is.
func writePage(t *testing.T, url, path, when string) {
	resp, err := testClient.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		t.Fatal(err)
	}
	header := fmt.Sprintf("# pgsim order service /metrics (resiltop convention), captured from a real run:\n"+
		"# 20 orders/s, %s; mail and stock steady.\n"+
		"# Regenerate: go test ./internal/pgsim -run TestCapturedPages -update\n", when)
	if err := os.WriteFile(path, append([]byte(header), body...), 0o644); err != nil {
		t.Fatal(err)
	}
}
