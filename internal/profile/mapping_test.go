package profile

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"resiltop/internal/model"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	prommodel "github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
)

// convUpdate rewrites the expected observations of testdata/conventions.
var convUpdate = flag.Bool("update-conventions", false, "rewrite testdata/conventions/**/*.json")

// convRealDir holds the real pages of the sibling shared/ checkout.
const convRealDir = "../../../shared/testdata/real"

// convParse parses a text page the way a lenient scraper must: real pages
// repeat HELP/TYPE for one family (Micrometer) and put samples before their
// TYPE, which expfmt rejects in one pass, so the page is parsed in blocks
// that each start at a comment following a sample, and NewPage merges the
// blocks' families by name.
func convParse(text string) (*model.Page, error) {
	var blocks []string
	var cur strings.Builder
	sawSample := false
	for _, line := range strings.SplitAfter(text, "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "#") && sawSample {
			blocks = append(blocks, cur.String())
			cur.Reset()
			sawSample = false
		}
		if t != "" && !strings.HasPrefix(t, "#") {
			sawSample = true
		}
		cur.WriteString(line)
	}
	blocks = append(blocks, cur.String())
	var fams []*dto.MetricFamily
	for _, b := range blocks {
		if !strings.HasSuffix(b, "\n") {
			b += "\n"
		}
		tp := expfmt.NewTextParser(prommodel.UTF8Validation)
		parsed, err := tp.TextToMetricFamilies(strings.NewReader(b))
		if err != nil {
			return nil, err
		}
		names := make([]string, 0, len(parsed))
		for n := range parsed {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fams = append(fams, parsed[n])
		}
	}
	return model.NewPage(fams), nil
}

func convMustParse(t testing.TB, text string) *model.Page {
	t.Helper()
	p, err := convParse(text)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return p
}

// convJSON renders observations for golden files: unknown values are
// omitted, so a golden file lists exactly what a profile claims to know.
func convJSON(obs []model.Observation) []byte {
	out := make([]map[string]any, 0, len(obs))
	for _, o := range obs {
		m := map[string]any{"dependency": o.Dependency, "profile": o.Profile}
		if o.Breaker != model.BreakerUnknown {
			m["breaker"] = o.Breaker
		}
		if o.BreakerLimit != "" {
			m["breaker_limit"] = o.BreakerLimit
		}
		if len(o.Calls) > 0 {
			m["calls"] = o.Calls
		}
		if o.Latency != nil {
			m["latency"] = map[string]any{"bounds": convFinite(o.Latency.Bounds), "counts": o.Latency.Counts, "sum": o.Latency.Sum, "count": o.Latency.Count}
		}
		if len(o.LatencyQuantiles) > 0 {
			q := map[string]float64{}
			for k, v := range o.LatencyQuantiles {
				q[strconv.FormatFloat(k, 'g', -1, 64)] = v
			}
			m["latency_quantiles"] = q
		}
		for name, v := range map[string]float64{
			"last_transition": o.LastTransition, "transitions": o.Transitions,
			"retries": o.Retries, "retries_exhausted": o.RetriesExhausted, "retry_max_attempts": o.RetryMaxAttempts,
			"timeout_seconds": o.TimeoutSeconds, "latency_mean": o.LatencyMean,
			"pool_active": o.PoolActive, "pool_idle": o.PoolIdle, "pool_max": o.PoolMax, "pool_pending": o.PoolPending,
			"pool_acquire_timeouts": o.PoolAcquireTimeouts, "bulkhead_in_flight": o.BulkheadInFlight, "bulkhead_max": o.BulkheadMax,
			"pending_count": o.PendingCount, "pending_oldest_age": o.PendingOldestAge, "pending_created": o.PendingCreated,
			"pending_resolved": o.PendingResolved, "breaker_failure_rate": o.BreakerFailureRate,
			"breaker_slow_call_rate": o.BreakerSlowCallRate, "forced_rejections": o.ForcedRejections, "ejected_hosts": o.EjectedHosts,
			"timed_out_failures": o.TimedOutFailures,
		} {
			if !math.IsNaN(v) {
				m[name] = v
			}
		}
		out = append(out, m)
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		panic(err)
	}
	return append(b, '\n')
}

// convFinite writes +Inf as the string "+Inf", which JSON cannot hold as a number.
func convFinite(bounds []float64) []any {
	out := make([]any, len(bounds))
	for i, b := range bounds {
		if math.IsInf(b, 0) {
			out[i] = "+Inf"
		} else {
			out[i] = b
		}
	}
	return out
}

// convGolden reads every testdata/conventions/<dir>/*.prom with prof and
// compares the observations with the .json beside it.
func convGolden(t *testing.T, dir string, prof model.Profile) {
	t.Helper()
	pages, err := filepath.Glob(filepath.Join("testdata", "conventions", dir, "*.prom"))
	if err != nil || len(pages) == 0 {
		t.Fatalf("no pages in testdata/conventions/%s: %v", dir, err)
	}
	for _, path := range pages {
		t.Run(filepath.Base(path), func(t *testing.T) {
			text, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			p := convMustParse(t, string(text))
			if !prof.Detect(p) {
				t.Fatalf("%s does not detect %s", prof.Name(), path)
			}
			convGoldenFile(t, path, convJSON(prof.Read(p)))
		})
	}
}

// convReal parses a real page of shared/testdata/real, skipping when the
// sibling checkout is absent.
func convReal(t *testing.T, name string) *model.Page {
	t.Helper()
	text, err := os.ReadFile(filepath.Join(convRealDir, name))
	if os.IsNotExist(err) {
		t.Skipf("%s not present", name)
	}
	if err != nil {
		t.Fatal(err)
	}
	return convMustParse(t, string(text))
}

// convCheckSane fails on any negative or infinite number in obs: a profile
// may leave a value unknown, but never invent a negative one.
func convCheckSane(t testing.TB, obs []model.Observation) {
	t.Helper()
	for _, o := range obs {
		if o.Dependency == "" {
			t.Errorf("observation without dependency: %+v", o)
		}
		for out, v := range o.Calls {
			if !(v >= 0) || math.IsInf(v, 0) {
				t.Errorf("%s: calls[%s] = %v", o.Dependency, out, v)
			}
		}
		for name, v := range map[string]float64{
			"retries": o.Retries, "retries_exhausted": o.RetriesExhausted, "pool_active": o.PoolActive,
			"pool_idle": o.PoolIdle, "pool_max": o.PoolMax, "pool_pending": o.PoolPending,
			"pool_acquire_timeouts": o.PoolAcquireTimeouts, "bulkhead_in_flight": o.BulkheadInFlight,
			"bulkhead_max": o.BulkheadMax, "pending_count": o.PendingCount, "pending_created": o.PendingCreated,
			"pending_resolved": o.PendingResolved, "forced_rejections": o.ForcedRejections, "ejected_hosts": o.EjectedHosts,
			"breaker_failure_rate": o.BreakerFailureRate, "breaker_slow_call_rate": o.BreakerSlowCallRate,
			"timeout_seconds": o.TimeoutSeconds, "latency_mean": o.LatencyMean,
		} {
			if v < 0 || math.IsInf(v, 0) {
				t.Errorf("%s: %s = %v", o.Dependency, name, v)
			}
		}
		if h := o.Latency; h != nil {
			if len(h.Bounds) != len(h.Counts) || len(h.Bounds) == 0 || !math.IsInf(h.Bounds[len(h.Bounds)-1], 1) {
				t.Errorf("%s: malformed histogram %+v", o.Dependency, h)
			}
			for _, c := range h.Counts {
				if !(c >= 0) {
					t.Errorf("%s: histogram count %v", o.Dependency, c)
				}
			}
		}
	}
}

// convFuzzProfile feeds arbitrary text pages to prof.Read: no panic, no
// negative numbers.
func convFuzzProfile(f *testing.F, prof model.Profile, seeds ...string) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		p, err := convParse(text)
		if err != nil {
			return
		}
		prof.Detect(p)
		convCheckSane(t, prof.Read(p))
	})
}

// convSeedFiles returns the convention pages of dir as fuzz seeds.
func convSeedFiles(f *testing.F, dir string) []string {
	paths, _ := filepath.Glob(filepath.Join("testdata", "conventions", dir, "*.prom"))
	var out []string
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

// convSeedText reads testdata/conventions/<rel>.
func convSeedText(t testing.TB, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "conventions", rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// convEqual compares test values, float slices element by element.
func convEqual(got, want any) bool {
	g, ok1 := got.([]float64)
	w, ok2 := want.([]float64)
	if ok1 && ok2 {
		return slices.Equal(g, w)
	}
	return got == want
}

// convDocBlock returns the first fenced block of the given kind in a doc.
func convDocBlock(t *testing.T, doc, kind string) string {
	t.Helper()
	_, rest, ok := strings.Cut(doc, "```"+kind+"\n")
	if !ok {
		t.Fatalf("no ```%s block", kind)
	}
	block, _, _ := strings.Cut(rest, "```")
	return block
}

// TestMappingWorkedExample checks the example of docs/MAPPINGS.md exactly.
func TestMappingWorkedExample(t *testing.T) {
	b, err := os.ReadFile("../../docs/MAPPINGS.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(convDocBlock(t, doc, "yaml")), &root); err != nil {
		t.Fatal(err)
	}
	profs, err := ParseMappings("resiltop.yaml", root.Content[0].Content[1])
	if err != nil {
		t.Fatal(err)
	}
	if len(profs) != 1 || profs[0].Name() != "payclient" {
		t.Fatalf("profiles: %+v", profs)
	}
	page := convMustParse(t, convDocBlock(t, doc, "text"))
	if !profs[0].Detect(page) {
		t.Fatal("not detected")
	}
	obs := profs[0].Read(page)
	convCheckSane(t, obs)
	if len(obs) != 2 {
		t.Fatalf("want acquirer and fraud, got %+v", obs)
	}
	acq, fraud := obs[0], obs[1]
	tests := []struct {
		name      string
		got, want any
	}{
		{"dependency", acq.Dependency, "acquirer"},
		{"profile", acq.Profile, "payclient"},
		{"breaker code 1", acq.Breaker, model.BreakerOpen},
		{"success incl. declined", acq.Calls[model.OutcomeSuccess], 970.0},
		{"failure", acq.Calls[model.OutcomeFailure], 40.0},
		{"timeout", acq.Calls[model.OutcomeTimeout], 12.0},
		{"short-circuited", acq.Calls[model.OutcomeShortCircuited], 30.0},
		{"calls total", acq.Calls[model.OutcomeSuccess] + acq.Calls[model.OutcomeFailure] + acq.Calls[model.OutcomeTimeout] + acq.Calls[model.OutcomeShortCircuited], 1052.0},
		{"retries", acq.Retries, 64.0},
		{"ms bounds to s", acq.Latency.Bounds, []float64{0.05, 0.2, 1, math.Inf(1)}},
		{"ms sum to s", acq.Latency.Sum, 150.0},
		{"bulkhead", acq.BulkheadInFlight, 18.0},
		{"bulkhead max", acq.BulkheadMax, 20.0},
		{"pending", acq.PendingCount, 7.0},
		{"fraud", fraud.Dependency, "fraud"},
		{"fraud closed", fraud.Breaker, model.BreakerClosed},
		{"fraud calls", fraud.Calls[model.OutcomeSuccess], 1000.0},
		{"fraud no latency", fraud.Latency == nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !convEqual(tt.got, tt.want) {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestParseMappingsErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"missing outcome label", `
- name: x
  dependency_label: dep
  calls:
    metric: m
    outcomes: {success: ok}
`, "resiltop.yaml:5: profiles[0].calls.outcome_label: required"},
		{"missing name", `
- dependency_label: dep
  retries: r
`, "resiltop.yaml:2: profiles[0].name: required"},
		{"bad unit", `
- name: x
  dependency_label: dep
  latency: {metric: l, unit: us}
`, `resiltop.yaml:4: profiles[0].latency.unit: must be s or ms, not "us"`},
		{"unknown field", `
- name: x
  dependency_label: dep
  retrys: r
`, "resiltop.yaml:4: profiles[0].retrys: unknown field"},
		{"unknown outcome", `
- name: x
  dependency_label: dep
  calls:
    metric: m
    outcome_label: o
    outcomes:
      succes: ok
`, "resiltop.yaml:8: profiles[0].calls.outcomes.succes: unknown field"},
		{"value mapped twice", `
- name: x
  dependency_label: dep
  calls:
    metric: m
    outcome_label: o
    outcomes: {success: ok, failure: [bad, ok]}
`, `profiles[0].calls.outcomes.success: value "ok" is already mapped to failure`},
		{"codes without codes", `
- name: x
  dependency_label: dep
  breaker: {metric: b, encoding: codes}
`, "resiltop.yaml:4: profiles[0].breaker.codes: required for encoding: codes"},
		{"bad code state", `
- name: x
  dependency_label: dep
  breaker:
    metric: b
    encoding: codes
    codes: {0: shut}
`, `resiltop.yaml:7: profiles[0].breaker.codes.0: unknown state "shut"`},
		{"one_hot without label", `
- name: x
  dependency_label: dep
  breaker: {metric: b, encoding: one_hot}
`, "resiltop.yaml:4: profiles[0].breaker.label: required"},
		{"bad encoding", `
- name: x
  dependency_label: dep
  breaker: {metric: b, encoding: bits, label: s}
`, `profiles[0].breaker.encoding: must be one_hot or codes, not "bits"`},
		{"no signal", `
- name: x
  dependency_label: dep
`, "resiltop.yaml:2: profiles[0]: maps no signal"},
		{"built-in name", `
- name: envoy
  dependency_label: dep
  retries: r
`, `resiltop.yaml:2: profiles[0].name: "envoy" is already a profile name`},
		{"duplicate names", `
- {name: a, dependency_label: d, retries: r}
- {name: a, dependency_label: d, retries: r}
`, `resiltop.yaml:3: profiles[1].name: "a" is already a profile name`},
		{"not a list", `name: x`, "resiltop.yaml:1: profiles: must be a list"},
		{"pool not a mapping", `
- name: x
  dependency_label: dep
  pool: p
`, "resiltop.yaml:4: profiles[0].pool: must be a mapping"},
		{"empty metric", `
- name: x
  dependency_label: dep
  pool: {active: ""}
`, "resiltop.yaml:4: profiles[0].pool.active: must be a non-empty string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var root yaml.Node
			if err := yaml.Unmarshal([]byte(tt.yaml), &root); err != nil {
				t.Fatal(err)
			}
			_, err := ParseMappings("resiltop.yaml", &root)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestParseMappingsEmpty(t *testing.T) {
	for _, src := range []string{"", "~", "[]"} {
		var root yaml.Node
		if err := yaml.Unmarshal([]byte(src), &root); err != nil {
			t.Fatal(err)
		}
		profs, err := ParseMappings("c.yaml", &root)
		if err != nil || len(profs) != 0 {
			t.Errorf("%q: got %v, %v", src, profs, err)
		}
	}
	if profs, err := ParseMappings("c.yaml", nil); err != nil || profs != nil {
		t.Errorf("nil node: %v, %v", profs, err)
	}
}

func TestMappingGolden(t *testing.T) {
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(convSeedText(t, "mapping/one_hot.yaml")), &root); err != nil {
		t.Fatal(err)
	}
	profs, err := ParseMappings("one_hot.yaml", &root)
	if err != nil {
		t.Fatal(err)
	}
	convGolden(t, "mapping", profs[0])
}

// FuzzParseMappings feeds arbitrary YAML: an error or profiles, never a panic.
func FuzzParseMappings(f *testing.F) {
	for _, s := range []string{
		"- {name: a, dependency_label: d, retries: r}",
		"- name: x\n  dependency_label: d\n  breaker: {metric: b, encoding: codes, codes: {0: closed, 1: open}}",
		"- name: x\n  dependency_label: d\n  calls: {metric: m, outcome_label: o, outcomes: {success: [a, b]}}",
		"profiles: 3", "- [1, 2]", "- {name: [x]}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		var root yaml.Node
		if yaml.Unmarshal([]byte(src), &root) != nil {
			return
		}
		profs, err := ParseMappings("f.yaml", &root)
		if err != nil && !strings.HasPrefix(err.Error(), "f.yaml:") {
			t.Errorf("error without file and line: %v", err)
		}
		page := convMustParse(t, "# TYPE r counter\nr{d=\"x\"} -1\n# TYPE b gauge\nb{d=\"x\"} 1\n")
		for _, p := range profs {
			p.Detect(page)
			convCheckSane(t, p.Read(page))
		}
	})
}

// BenchmarkConventionRead measures each profile's Read on its test pages
// repeated for 500 dependencies (parsing excluded: it is the scraper's).
func BenchmarkConventionRead(b *testing.B) {
	for _, tc := range []struct {
		prof       model.Profile
		page, name string
	}{
		{resilience4j{}, "resilience4j/spring_boot3.prom", `name="pg"`},
		{spring{}, "spring/boot3_histogram.prom", `client_name="pg"`},
		{otel{}, "otel/semconv_http_db.prom", `server_address="pg.internal"`},
		{envoy{}, "envoy/envoy_pressure.prom", `envoy_cluster_name="pg"`},
	} {
		b.Run(tc.prof.Name(), func(b *testing.B) {
			src := convSeedText(b, tc.page)
			var sb strings.Builder
			for i := range 500 {
				sb.WriteString(strings.ReplaceAll(src, tc.name, strings.Replace(tc.name, `"pg`, `"pg`+strconv.Itoa(i), 1)))
			}
			p := convMustParse(b, sb.String())
			for b.Loop() {
				if len(tc.prof.Read(p)) < 500 {
					b.Fatal("dependencies missing")
				}
			}
			b.ReportMetric(float64(p.Series()), "series")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(p.Series()), "ns/series")
		})
	}
}

// convGoldenFile compares observations read from page path with the golden
// file beside it (path with .json for .prom), rewriting it under
// -update-conventions.
func convGoldenFile(t *testing.T, path string, got []byte) {
	t.Helper()
	want := strings.TrimSuffix(path, ".prom") + ".json"
	if *convUpdate {
		if err := os.WriteFile(want, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	exp, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, exp) {
		t.Errorf("%s: observations differ from %s\n got: %s\nwant: %s", path, want, got, exp)
	}
}
