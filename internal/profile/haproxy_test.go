package profile

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"resiltop/internal/model"
	"strings"
	"testing"
)

// haproxyTestdata holds the project's HAProxy pages (repository testdata/).
const haproxyTestdata = "../../testdata/haproxy"

func haproxyPage(t testing.TB, name string) *model.Page {
	t.Helper()
	text, err := os.ReadFile(filepath.Join(haproxyTestdata, name))
	if err != nil {
		t.Fatal(err)
	}
	return convMustParse(t, string(text))
}

// TestHAProxyGolden compares every testdata/haproxy/*.prom with the
// observations in the .json beside it (-update-conventions rewrites them).
func TestHAProxyGolden(t *testing.T) {
	pages, err := filepath.Glob(filepath.Join(haproxyTestdata, "*.prom"))
	if err != nil || len(pages) == 0 {
		t.Fatalf("no pages in %s: %v", haproxyTestdata, err)
	}
	for _, path := range pages {
		t.Run(filepath.Base(path), func(t *testing.T) {
			p := haproxyPage(t, filepath.Base(path))
			if !(haproxy{}).Detect(p) {
				t.Fatal("not detected")
			}
			obs := haproxy{}.Read(p)
			convCheckSane(t, obs)
			convGoldenFile(t, path, convJSON(obs))
		})
	}
}

// TestHAProxySignals spells out the mapping the golden files hold, so a
// regenerated golden file cannot silently change it.
func TestHAProxySignals(t *testing.T) {
	read := func(name string) map[string]model.Observation {
		by := map[string]model.Observation{}
		for _, o := range (haproxy{}).Read(haproxyPage(t, name)) {
			by[o.Dependency] = o
		}
		return by
	}
	h := read("http_backends.prom")
	l := read("legacy_numeric_status.prom")
	s := read("scope_backend_tcp.prom")
	r := read("real_2.6_checks_down.prom")
	q := read("real_2.6_slow_queue.prom")
	f := read("real_2.6_forced_open.prom")
	_, frontend := h["egress"]
	tests := []struct {
		name      string
		got, want any
	}{
		{"frontends are not dependencies", frontend, false},
		{"backends only", len(h), 3},
		{"UP is closed", h["pg"].Breaker, model.BreakerClosed},
		{"DOWN by checks is open", h["mail"].Breaker, model.BreakerOpen},
		{"every server in MAINT is forced open", h["stock"].Breaker, model.BreakerForcedOpen},
		{"2xx+4xx succeed", h["pg"].Calls[model.OutcomeSuccess], 940.0},
		{"5xx fail", h["pg"].Calls[model.OutcomeFailure], 60.0},
		{"other fails", h["mail"].Calls[model.OutcomeFailure], 255.0},
		{"no timeouts claimed", hasKey(h["pg"].Calls, model.OutcomeTimeout), false},
		{"retries + redispatches", h["pg"].Retries, 14.0},
		{"queue is pool pending", h["pg"].PoolPending, 7.0},
		{"sessions are pool in use", h["pg"].PoolActive, 20.0},
		{"pool max is Σ server maxconn", h["pg"].PoolMax, 20.0},
		{"backend fullconn is not a limit", h["stock"].PoolMax, 10.0},
		{"a server without maxconn: max unknown", math.IsNaN(h["mail"].PoolMax), true},
		{"bulkhead left unknown", math.IsNaN(h["pg"].BulkheadMax), true},
		{"mean is total time", h["pg"].LatencyMean, 0.45},
		{"no histogram", h["pg"].Latency == nil, true},
		{"transitions while open", h["mail"].Transitions, 5.0},
		{"transitions while forced open", h["stock"].Transitions, 1.0},
		{"transitions never down", h["pg"].Transitions, 0.0},

		{"legacy backend 1 is UP", l["api"].Breaker, model.BreakerClosed},
		{"legacy MAINT servers force open", l["cache"].Breaker, model.BreakerForcedOpen},
		{"legacy DOWN with one MAINT server is open", l["auth"].Breaker, model.BreakerOpen},
		{"queue summed over servers", l["api"].PoolPending, 3.0},
		{"sessions summed over servers", l["api"].PoolActive, 7.0},
		{"server averages are not summed", math.IsNaN(l["api"].LatencyMean), true},

		{"agg status forces open", s["db"].Breaker, model.BreakerForcedOpen},
		{"agg with some MAINT stays closed", s["queue"].Breaker, model.BreakerClosed},
		{"tcp failures are errors", s["db"].Calls[model.OutcomeFailure], 35.0},
		{"tcp successes are the other sessions", s["db"].Calls[model.OutcomeSuccess], 965.0},
		{"NaN gauge is unknown", math.IsNaN(s["queue"].PoolPending), true},

		{"real capture: checks failing is open", r["pg"].Breaker, model.BreakerOpen},
		{"real capture: 503s fail", r["pg"].Calls[model.OutcomeFailure], 20.0},
		{"real capture: maxconn 4 × 2", r["pg"].PoolMax, 8.0},
		{"real capture: one backend", len(r), 1},
		{"real slow: queue behind maxconn", q["mail"].PoolPending, 10.0},
		{"real slow: still up", q["mail"].Breaker, model.BreakerClosed},
		{"real slow: maxconn 2", q["mail"].PoolMax, 2.0},
		{"real forced: servers in MAINT", f["mail"].Breaker, model.BreakerForcedOpen},
		{"real forced: down, up, down", f["mail"].Transitions, 3.0},
		{"real forced: retries during the outage", f["mail"].Retries, 632.0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !convEqual(tt.got, tt.want) {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func hasKey(m map[model.Outcome]float64, k model.Outcome) bool { _, ok := m[k]; return ok }

func TestHAProxyDetect(t *testing.T) {
	tests := []struct {
		page string
		want bool
	}{
		{"haproxy_backend_status{proxy=\"a\",state=\"UP\"} 1\n", true},
		{"haproxy_server_current_queue{proxy=\"a\",server=\"s\"} 1\n", true},
		{"haproxy_frontend_current_sessions{proxy=\"fe\"} 1\n", false},
		{"haproxy_process_nbthread 2\n", false},
		{"resilience_calls_total{dependency=\"pg\",outcome=\"success\"} 1\n", false},
	}
	for _, tt := range tests {
		if got := (haproxy{}).Detect(convMustParse(t, tt.page)); got != tt.want {
			t.Errorf("Detect(%q) = %v, want %v", tt.page, got, tt.want)
		}
	}
}

func TestHAProxyRegistered(t *testing.T) {
	for _, p := range Builtin() {
		if p.Name() == HAProxy {
			return
		}
	}
	t.Fatal("haproxy profile not registered")
}

func TestHAProxyOddInput(t *testing.T) {
	page := `# TYPE haproxy_backend_status gauge
haproxy_backend_status{state="UP"} 1
haproxy_backend_status{proxy="x",state="UP"} NaN
haproxy_backend_status{proxy="y"} 7
# TYPE haproxy_backend_current_queue gauge
haproxy_backend_current_queue{proxy="x"} -3
haproxy_backend_current_queue{proxy="y"} +Inf
# TYPE haproxy_server_status gauge
haproxy_server_status{proxy="x",state="UP"} 1
# TYPE haproxy_backend_response_time_average_seconds summary
haproxy_backend_response_time_average_seconds{proxy="x",quantile="0.5"} 1
`
	obs := haproxy{}.Read(convMustParse(t, page))
	convCheckSane(t, obs)
	if len(obs) != 2 {
		t.Fatalf("want x and y, got %+v", obs)
	}
	for _, o := range obs {
		if o.Breaker != model.BreakerUnknown || !math.IsNaN(o.PoolPending) || !math.IsNaN(o.LatencyMean) {
			t.Errorf("%s: made-up values: breaker %v, pending %v, mean %v", o.Dependency, o.Breaker, o.PoolPending, o.LatencyMean)
		}
	}
}

func FuzzHAProxyProfile(f *testing.F) {
	var seeds []string
	paths, _ := filepath.Glob(filepath.Join(haproxyTestdata, "*.prom"))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, string(b))
	}
	convFuzzProfile(f, haproxy{}, seeds...)
}

// haproxyBigPage writes an exporter page of backends × servers in HAProxy
// 2.6's shape (the families the profile reads plus ones it skips).
func haproxyBigPage(backends, servers int) string {
	var b strings.Builder
	for _, fam := range []string{"current_queue", "current_sessions", "retry_warnings_total", "redispatch_warnings_total", "sessions_total", "bytes_in_total", "check_up_down_total", "total_time_average_seconds"} {
		typ := "gauge"
		if strings.HasSuffix(fam, "_total") {
			typ = "counter"
		}
		fmt.Fprintf(&b, "# TYPE haproxy_backend_%s %s\n", fam, typ)
		for i := range backends {
			fmt.Fprintf(&b, "haproxy_backend_%s{proxy=\"be%d\"} %d\n", fam, i, i)
		}
	}
	b.WriteString("# TYPE haproxy_backend_status gauge\n")
	for i := range backends {
		fmt.Fprintf(&b, "haproxy_backend_status{proxy=\"be%d\",state=\"DOWN\"} 0\nhaproxy_backend_status{proxy=\"be%d\",state=\"UP\"} 1\n", i, i)
	}
	b.WriteString("# TYPE haproxy_backend_http_responses_total counter\n")
	for i := range backends {
		for _, c := range []string{"1xx", "2xx", "3xx", "4xx", "5xx", "other"} {
			fmt.Fprintf(&b, "haproxy_backend_http_responses_total{proxy=\"be%d\",code=\"%s\"} %d\n", i, c, i)
		}
	}
	for _, fam := range []string{"current_sessions", "limit_sessions", "current_queue", "bytes_out_total"} {
		fmt.Fprintf(&b, "# TYPE haproxy_server_%s gauge\n", fam)
		for i := range backends {
			for s := range servers {
				fmt.Fprintf(&b, "haproxy_server_%s{proxy=\"be%d\",server=\"s%d\"} 4\n", fam, i, s)
			}
		}
	}
	b.WriteString("# TYPE haproxy_server_status gauge\n")
	for i := range backends {
		for s := range servers {
			for _, st := range []string{"DOWN", "UP", "MAINT", "DRAIN", "NOLB"} {
				v := 0
				if st == "UP" {
					v = 1
				}
				fmt.Fprintf(&b, "haproxy_server_status{proxy=\"be%d\",server=\"s%d\",state=\"%s\"} %d\n", i, s, st, v)
			}
		}
	}
	return b.String()
}

// BenchmarkHAProxyRead measures Read on 200 backends × 5 servers (about
// 10k samples); the native profile on the scrape test's 10k page is the
// baseline to compare with.
func BenchmarkHAProxyRead(b *testing.B) {
	p := convMustParse(b, haproxyBigPage(200, 5))
	b.ReportMetric(float64(p.Series()), "series")
	b.ResetTimer()
	for b.Loop() {
		if obs := (haproxy{}).Read(p); len(obs) != 200 {
			b.Fatalf("%d observations", len(obs))
		}
	}
}
