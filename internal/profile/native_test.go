package profile

import (
	"math"
	"os"
	"path/filepath"
	"resiltop/internal/model"
	"slices"
	"strings"
	"testing"
	"time"
)

// loadPages parses testdata/model/<name>.<n>.prom for n = 1, 2, …
func loadPages(t *testing.T, name string) []*model.Page {
	t.Helper()
	var out []*model.Page
	for n := 1; ; n++ {
		b, err := os.ReadFile(filepath.Join("..", "model", "testdata", "model", name+"."+string(rune('0'+n))+".prom"))
		if os.IsNotExist(err) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, convMustParse(t, string(b)))
	}
	if len(out) == 0 {
		t.Fatalf("no pages for %s", name)
	}
	return out
}

func TestEdgeCasePages(t *testing.T) {
	tests := []struct {
		name  string
		check func(t *testing.T, s *model.Snapshot)
	}{
		{"reset", func(t *testing.T, s *model.Snapshot) {
			d := dep(t, s, "pg")
			want(t, "calls/s", d.CallsPerSecond, 4)
			want(t, "error ratio", d.ErrorRatio, 0)
			want(t, "retries/s", d.RetriesPerSecond, 0.5)
			want(t, "retry ratio", d.RetryRatio, 5.0/40)
		}},
		{"nan-inf", func(t *testing.T, s *model.Snapshot) {
			d := dep(t, s, "pg")
			want(t, "calls/s", d.CallsPerSecond, 10) // 100 → (NaN) → 300 over 20 s
			want(t, "error ratio", d.ErrorRatio, 0)  // failure only ever ±Inf: never counted
			want(t, "retries/s", d.RetriesPerSecond, math.NaN())
			want(t, "timeout", d.TimeoutSeconds, 0.8)
			want(t, "pending", d.Pending.Count, math.NaN())
			want(t, "pool in use", d.Pool.InUse, math.NaN())
		}},
		{"no-inf", func(t *testing.T, s *model.Snapshot) {
			d := dep(t, s, "pg")
			want(t, "p50", d.Latency.P50, math.NaN())
			want(t, "p99", d.Latency.P99, math.NaN())
			if !slices.Equal(d.BucketBounds, []float64{0.1, 0.5}) {
				t.Errorf("bounds = %v", d.BucketBounds)
			}
		}},
		{"implicit-inf", func(t *testing.T, s *model.Snapshot) {
			d := dep(t, s, "pg")
			want(t, "p50", d.Latency.P50, 0.1)
			want(t, "p90", d.Latency.P90, 0.5)
			want(t, "p99", d.Latency.P99, 0.5) // rank in +Inf: highest finite bound
		}},
		{"decreasing", func(t *testing.T, s *model.Snapshot) {
			d := dep(t, s, "pg")
			want(t, "p50", d.Latency.P50, 0.1)
			want(t, "p90", d.Latency.P90, 0.9)
		}},
		{"duplicate", func(t *testing.T, s *model.Snapshot) {
			d := dep(t, s, "pg")
			want(t, "calls/s", d.CallsPerSecond, 10)
			want(t, "error ratio", d.ErrorRatio, 0.5)
		}},
		{"type-change", func(t *testing.T, s *model.Snapshot) {
			d := dep(t, s, "pg")
			want(t, "calls/s", d.CallsPerSecond, 10)
			want(t, "timeout", d.TimeoutSeconds, 1.5)
			// The middle page carried nothing of the convention for pg, so
			// history has one step, across it.
			if h := d.History; len(h) != 1 || !h[0].Time.Equal(at(20)) {
				t.Errorf("history = %+v, want one step at 20 s", h)
			}
		}},
		{"garbage", func(t *testing.T, s *model.Snapshot) {
			if len(s.Dependencies) != 2 {
				t.Fatalf("%d dependencies, want 2", len(s.Dependencies))
			}
			pg := dep(t, s, "pg\uFFFD[31m")
			if pg.Breaker.State != model.BreakerUnknown {
				t.Errorf("pg breaker = %v", pg.Breaker.State)
			}
			if m := dep(t, s, "mail\uFFFDx"); m.Breaker.State != model.BreakerOpen {
				t.Errorf("mail breaker = %v, want the worst state set", m.Breaker.State)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := model.NewStore(model.StoreOptions{Profiles: Builtin()})
			for i, p := range loadPages(t, tt.name) {
				s.Ingest(model.Scrape{Target: "t", Time: at(float64(10 * i)), Page: p})
			}
			tt.check(t, s.Snapshot(at(30), time.Minute))
		})
	}
}

// want checks one value; NaN wants unknown.
func want(t *testing.T, name string, got model.Value, w float64) {
	t.Helper()
	if !near(got, w) {
		t.Errorf("%s = %v, want %v", name, got, w)
	}
}

func TestNativeDetect(t *testing.T) {
	tests := []struct {
		page string
		want bool
	}{
		{"# TYPE resilience_calls_total counter\nresilience_calls_total{dependency=\"a\",outcome=\"success\"} 1\n", true},
		{"# TYPE resilience_circuit_breaker_state gauge\nresilience_circuit_breaker_state{dependency=\"a\",state=\"open\"} 1\n", true},
		{"# TYPE http_requests_total counter\nhttp_requests_total 1\n", false},
	}
	for _, tt := range tests {
		if got := (native{}).Detect(convMustParse(t, tt.page)); got != tt.want {
			t.Errorf("Detect(%q) = %v, want %v", tt.page, got, tt.want)
		}
	}
}

// TestRetriesIdempotentLabel reads resilience_retries_total in both
// spellings: without the idempotent label (unsafe retries unknown) and with
// it (those labelled false are unsafe), through the Store's rates.
func TestRetriesIdempotentLabel(t *testing.T) {
	tests := []struct {
		name          string
		series        string // resilience_retries_total samples at 10 s; 0 at 0 s
		retries       float64
		unsafe        float64 // per second; NaN: unknown
		unsafeFinding bool
	}{
		{"old spelling", `{dependency="pg"} 20`, 2, math.NaN(), false},
		{"every retry with a key", `{dependency="pg",idempotent="true"} 20`, 2, 0, false},
		{"some without", `{dependency="pg",idempotent="true"} 20` + "\n" + `resilience_retries_total{dependency="pg",idempotent="false"} 10`, 3, 1, true},
		{"a value outside true|false", `{dependency="pg",idempotent="maybe"} 20`, 2, math.NaN(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := model.NewStore(model.StoreOptions{Profiles: Builtin()})
			later := "# TYPE resilience_calls_total counter\n" +
				`resilience_calls_total{dependency="pg",outcome="success"} 100` + "\n" +
				"# TYPE resilience_retries_total counter\nresilience_retries_total" + tt.series + "\n"
			earlier := strings.NewReplacer(" 100", " 0", " 20", " 0", " 10", " 0").Replace(later)
			for i, body := range []string{earlier, later} {
				s.Ingest(model.Scrape{Target: "t", Time: at(float64(10 * i)), Page: convMustParse(t, body)})
			}
			d := dep(t, s.Snapshot(at(10), time.Minute), "pg")
			want(t, "retries/s", d.RetriesPerSecond, tt.retries)
			want(t, "unsafe retries/s", d.UnsafeRetriesPerSecond, tt.unsafe)
			found := slices.ContainsFunc(d.Findings, func(f model.Finding) bool { return f.Kind == model.UnsafeRetries })
			if found != tt.unsafeFinding {
				t.Errorf("unsafe_retries finding %v, want %v (%+v)", found, tt.unsafeFinding, d.Findings)
			}
		})
	}
}
