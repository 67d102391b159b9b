package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"resiltop/internal/model"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// fixture covers every shape the writers must handle: a forced-open breaker
// with findings, a dependency where nothing is known, a stale dependency of
// a target that is down, an Envoy concurrency limit.
func fixture() *model.Snapshot {
	now := time.Date(2026, 11, 22, 3, 4, 5, 0, time.UTC)
	u := model.Unknown()
	unknownDep := model.Dependency{
		Breaker:        model.Breaker{State: model.BreakerUnknown, Transitions: u, FailureRate: u, SlowCallRate: u},
		CallsPerSecond: u, ErrorRatio: u, TimeoutsPerSecond: u, RetriesPerSecond: u, RetryRatio: u,
		UnsafeRetriesPerSecond: u,
		Latency:                model.Quantiles{P50: u, P90: u, P99: u, P999: u},
		LatencyMean:            u,
		TimeoutSeconds:         u,
		Pool:                   model.Pool{InUse: u, Max: u, Pending: u},
		Bulkhead:               model.Bulkhead{InFlight: u, Max: u, RejectedPerSecond: u},
		Pending:                model.Pending{Count: u, OldestAgeSeconds: u, CreatedPerSecond: u, ResolvedPerSecond: u},
		EjectedHosts:           u,
	}
	pgFinding := model.Finding{Kind: model.BreakerOpenKind, Severity: model.Critical, Target: "http://a/metrics",
		Dependency: "pg", Message: "pg: breaker forced_open for 1m40s", Since: now.Add(-100 * time.Second),
		Advice: model.Advice(model.BreakerOpenKind)}
	storm := model.Finding{Kind: model.RetryStorm, Severity: model.Warning, Target: "http://a/metrics",
		Dependency: "pg", Message: "pg: retry storm — 14.2 retries/s for 9.8 first attempts/s (ratio 1.45)", Since: now.Add(-30 * time.Second),
		Advice: model.Advice(model.RetryStorm)}
	unsafe := model.Finding{Kind: model.UnsafeRetries, Severity: model.Critical, Target: "http://a/metrics", Dependency: "pg",
		Message: "pg: retrying without an idempotency key: duplicates possible — 24 unsafe retries in 1m0s (0.4/s, 2.82% of retries)",
		Since:   now.Add(-60 * time.Second), Advice: model.Advice(model.UnsafeRetries)}
	down := model.Finding{Kind: model.TargetDown, Severity: model.Critical, Target: "http://b/metrics",
		Message: "http://b/metrics: down — connection refused", Advice: model.Advice(model.TargetDown)}
	never := model.Finding{Kind: model.TargetDown, Severity: model.Critical, Target: "http://c/metrics",
		Message: "http://c/metrics: down — timeout after 800ms (never succeeded)", Since: now.Add(-3 * time.Second),
		Advice: model.Advice(model.TargetDown)}

	pg := unknownDep
	pg.Target, pg.Name, pg.Profiles = "http://a/metrics", "pg", []string{"resiltop"}
	pg.Breaker = model.Breaker{State: model.BreakerForcedOpen, Since: now.Add(-100 * time.Second), Transitions: 1,
		FailureRate: 62.5, SlowCallRate: 12.5}
	pg.CallsPerSecond, pg.ErrorRatio, pg.TimeoutsPerSecond, pg.RetriesPerSecond, pg.RetryRatio = 9.8, 1, 0.25, 14.2, 1.45
	pg.Latency = model.Quantiles{P50: 0.21, P90: 0.9, P99: 2.9, P999: 3}
	pg.TimeoutSeconds = 3
	pg.Pool = model.Pool{InUse: 32, Max: 32, Pending: 5}
	pg.Bulkhead = model.Bulkhead{InFlight: 20, Max: 20, RejectedPerSecond: 1.5}
	pg.Pending = model.Pending{Count: 57, OldestAgeSeconds: 75, CreatedPerSecond: 12, ResolvedPerSecond: 3}
	pg.UnsafeRetriesPerSecond = 0.4
	pg.Findings = []model.Finding{pgFinding, unsafe, storm}
	pg.LastSeen = now

	mail := unknownDep
	mail.Target, mail.Name, mail.Profiles, mail.LastSeen = "http://a/metrics", "mail", []string{"resiltop"}, now

	stock := unknownDep
	stock.Target, stock.Name, stock.Profiles = "http://b/metrics", "stock", []string{"resiltop"}
	stock.Breaker.State = model.BreakerClosed
	stock.CallsPerSecond, stock.ErrorRatio = 20, 0
	stock.Stale, stock.LastSeen = true, now.Add(-12*time.Second)
	stock.Findings = []model.Finding{down}

	edge := unknownDep
	edge.Target, edge.Name, edge.Profiles, edge.LastSeen = "http://a/metrics", "edge", []string{"envoy"}, now
	edge.Breaker.Limit = "pending"

	api := unknownDep
	api.Target, api.Name, api.Profiles, api.LastSeen = "http://a/metrics", "api", []string{"haproxy"}, now
	api.LatencyMean = 0.12

	return &model.Snapshot{
		Time: now, Window: time.Minute,
		Targets: []model.TargetHealth{
			{URL: "http://a/metrics", Up: true, LastScrape: now, LastSuccess: now, ScrapeDuration: 12 * time.Millisecond,
				Series: 421, Profiles: []string{"envoy", "resiltop"}},
			{URL: "http://b/metrics", Err: "connection refused", LastScrape: now, LastSuccess: now.Add(-12 * time.Second),
				ScrapeDuration: time.Millisecond},
			{URL: "http://c/metrics", Err: "timeout after 800ms", LastScrape: now, ScrapeDuration: 800 * time.Millisecond},
		},
		Dependencies: []model.Dependency{pg, stock, edge, api, mail},
		Findings:     []model.Finding{pgFinding, unsafe, down, never, storm},
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestJSONGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := JSON(&buf, fixture()); err != nil {
		t.Fatal(err)
	}
	golden(t, "snapshot.json", buf.Bytes())
}

func TestTableGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := Table(&buf, fixture()); err != nil {
		t.Fatal(err)
	}
	golden(t, "snapshot.txt", buf.Bytes())
}

// TestJSONContract checks the contract's promises directly, independent of
// the golden file: every documented key present, unknowns as null, never a
// made-up zero.
func TestJSONContract(t *testing.T) {
	var buf bytes.Buffer
	if err := JSON(&buf, fixture()); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"time", "window_seconds", "targets", "dependencies", "findings"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("top level lacks %q", k)
		}
	}
	deps := doc["dependencies"].([]any)
	var mail map[string]any
	for _, d := range deps {
		if d.(map[string]any)["name"] == "mail" {
			mail = d.(map[string]any)
		}
	}
	if mail == nil {
		t.Fatal("no mail dependency in the output")
	}
	want := []string{"target", "name", "profiles", "breaker", "calls_per_second", "error_ratio", "timeouts_per_second",
		"retries_per_second", "retry_ratio", "unsafe_retries_per_second", "latency_seconds", "timeout_seconds", "pool", "bulkhead", "pending", "findings"}
	for _, k := range want {
		if _, ok := mail[k]; !ok {
			t.Errorf("dependency lacks %q", k)
		}
	}
	if len(mail) != len(want) {
		t.Errorf("dependency has %d keys, the contract has %d", len(mail), len(want))
	}
	for _, k := range []string{"calls_per_second", "error_ratio", "retry_ratio", "unsafe_retries_per_second", "timeout_seconds"} {
		if mail[k] != nil {
			t.Errorf("unknown %s written as %v, want null", k, mail[k])
		}
	}
	for _, group := range []string{"latency_seconds", "pool", "bulkhead", "pending"} {
		for k, v := range mail[group].(map[string]any) {
			if v != nil {
				t.Errorf("unknown %s.%s written as %v, want null", group, k, v)
			}
		}
	}
	b := mail["breaker"].(map[string]any)
	breakerKeys := []string{"state", "since", "transitions", "failure_rate", "slow_call_rate"}
	for _, k := range breakerKeys {
		if _, ok := b[k]; !ok {
			t.Errorf("breaker lacks %q", k)
		}
	}
	if len(b) != len(breakerKeys) {
		t.Errorf("breaker has keys %v, the contract has %v", b, breakerKeys)
	}
	if b["state"] != "unknown" || b["since"] != nil || b["transitions"] != nil || b["failure_rate"] != nil || b["slow_call_rate"] != nil {
		t.Errorf("unknown breaker written as %v", b)
	}
	for _, d := range deps {
		if d := d.(map[string]any); d["name"] == "pg" {
			pb := d["breaker"].(map[string]any)
			if pb["failure_rate"] != 62.5 || pb["slow_call_rate"] != 12.5 {
				t.Errorf("pg breaker rates written as %v / %v, want 62.5 / 12.5 (percent)", pb["failure_rate"], pb["slow_call_rate"])
			}
		}
	}
	lat := mail["latency_seconds"].(map[string]any)
	if latencyKeys := []string{"p50", "p90", "p99", "p999", "mean"}; len(lat) != len(latencyKeys) {
		t.Errorf("latency_seconds has keys %v, the contract has %v", lat, latencyKeys)
	}
	for _, d := range deps {
		if d := d.(map[string]any); d["name"] == "api" {
			al := d["latency_seconds"].(map[string]any)
			if al["mean"] != 0.12 || al["p50"] != nil || al["p99"] != nil {
				t.Errorf("api latency written as %v, want mean 0.12 and unknown quantiles", al)
			}
		}
	}
	if _, ok := b["limit"]; ok {
		t.Error("limit present without a limit")
	}
	targets := doc["targets"].([]any)
	if e := targets[0].(map[string]any)["error"]; e != nil {
		t.Errorf("up target has error %v, want null", e)
	}
	if s := targets[2].(map[string]any)["series"]; s != nil {
		t.Errorf("a target never scraped has series %v, want null", s)
	}
	if s := targets[1].(map[string]any)["series"]; s != float64(0) {
		t.Errorf("a target that answered before keeps its known series count, got %v", s)
	}
	var down map[string]any
	for _, f := range doc["findings"].([]any) {
		if f := f.(map[string]any); f["kind"] == "target_down" && f["target"] == "http://c/metrics" {
			down = f
		}
	}
	if down == nil || down["dependency"] != nil || down["severity"] != "critical" {
		t.Errorf("the never-answering target's target_down is not in the top-level findings with a null dependency: %v", down)
	}
	if e := targets[1].(map[string]any)["error"]; e != "connection refused" {
		t.Errorf("down target error = %v", e)
	}
	if !strings.Contains(buf.String(), `"limit": "pending"`) {
		t.Error("Envoy limit missing from the output")
	}
}
