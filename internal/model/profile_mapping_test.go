package model

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	prommodel "github.com/prometheus/common/model"
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
func convParse(text string) (*Page, error) {
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
	return NewPage(fams), nil
}

func convMustParse(t testing.TB, text string) *Page {
	t.Helper()
	p, err := convParse(text)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return p
}

// convJSON renders observations for golden files: unknown values are
// omitted, so a golden file lists exactly what a profile claims to know.
func convJSON(obs []Observation) []byte {
	out := make([]map[string]any, 0, len(obs))
	for _, o := range obs {
		m := map[string]any{"dependency": o.Dependency, "profile": o.Profile}
		if o.Breaker != BreakerUnknown {
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
func convGolden(t *testing.T, dir string, prof Profile) {
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
			got := convJSON(prof.Read(p))
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
		})
	}
}

// convReal parses a real page of shared/testdata/real, skipping when the
// sibling checkout is absent.
func convReal(t *testing.T, name string) *Page {
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
func convCheckSane(t testing.TB, obs []Observation) {
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
func convFuzzProfile(f *testing.F, prof Profile, seeds ...string) {
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
