package scrape

import (
	"context"
	"maps"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"resiltop/internal/model"
	"resiltop/internal/profile"
	"resiltop/internal/scrape/promtest"
	"resiltop/internal/scrape/scrapetest"
)

// fleetFamilies are the families the built-in profiles read.
func fleetFamilies() []string {
	var out []string
	for _, p := range profile.Builtin() {
		out = append(out, p.Families()...)
	}
	return out
}

// newFakeSource serves fake and returns a source reading it.
func newFakeSource(t *testing.T, fake *promtest.Fake, cfg PromConfig) *PromSource {
	t.Helper()
	srv := scrapetest.Serve(t, fake)
	cfg.URL = srv.URL
	if cfg.Families == nil {
		cfg.Families = fleetFamilies()
	}
	if cfg.Interval == 0 {
		cfg.Interval = time.Second
	}
	s, err := NewProm(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// byTarget indexes scrapes by target.
func byTarget(res []model.Scrape) map[string]model.Scrape {
	out := map[string]model.Scrape{}
	for _, r := range res {
		out[r.Target] = r
	}
	return out
}

func fseries(name string, v float64, kv ...string) promtest.Series {
	l := map[string]string{"__name__": name}
	for i := 0; i+1 < len(kv); i += 2 {
		l[kv[i]] = kv[i+1]
	}
	return promtest.Series{Labels: l, Value: v}
}

// TestPromSourcePages checks that an answer becomes one page per instance
// with typed families, stripped target labels, joined histograms, and the
// time of Prometheus's own scrape.
func TestPromSourcePages(t *testing.T) {
	fake := &promtest.Fake{Types: map[string]string{"resilience_calls_total": "counter"}}
	var ss []promtest.Series
	for _, inst := range []string{"a:1", "b:2"} {
		tl := []string{"job", "orders", "instance", inst, "pod", "orders-" + inst[:1]}
		ss = append(ss,
			fseries("up", 1, tl...),
			fseries("resilience_calls_total", 7, append(tl, "dependency", "pg", "outcome", "success")...),
			// No metadata: typed by the series that come back.
			fseries("resilience_attempt_duration_seconds_bucket", 1, append(tl, "dependency", "pg", "le", "0.5")...),
			fseries("resilience_attempt_duration_seconds_bucket", 3, append(tl, "dependency", "pg", "le", "+Inf")...),
			fseries("resilience_attempt_duration_seconds_sum", 1.5, append(tl, "dependency", "pg")...),
			fseries("resilience_attempt_duration_seconds_count", 3, append(tl, "dependency", "pg")...),
			fseries("resilience4j_circuitbreaker_calls_seconds_count", 4, append(tl, "name", "pg", "kind", "successful")...),
			fseries("resilience4j_circuitbreaker_calls_seconds_sum", 0.4, append(tl, "name", "pg", "kind", "successful")...),
			fseries("resilience_timeout_seconds", 3, append(tl, "dependency", "pg")...),
		)
	}
	fake.Set(ss, 1700000000.5)
	src := newFakeSource(t, fake, PromConfig{Selector: `{job="orders"}`})
	res := byTarget(src.ScrapeAll(context.Background()))
	if len(res) != 3 {
		t.Fatalf("got %d scrapes, want the Prometheus row and 2 instances: %v", len(res), res)
	}
	self := res[src.Name()]
	if self.Err != nil || self.Page == nil {
		t.Fatalf("Prometheus row: %+v", self)
	}
	sc := res["a:1"]
	if sc.Err != nil {
		t.Fatal(sc.Err)
	}
	if want := time.UnixMilli(1700000000500); !sc.Time.Equal(want) {
		t.Errorf("time %v, want Prometheus's scrape time %v", sc.Time, want)
	}
	calls := sc.Page.Family("resilience_calls_total")
	if calls.GetType() != dto.MetricType_COUNTER || calls.Metric[0].GetCounter().GetValue() != 7 {
		t.Errorf("calls: %v", calls)
	}
	for _, l := range calls.Metric[0].Label {
		if slices.Contains([]string{"job", "instance", "pod", "__name__"}, l.GetName()) {
			t.Errorf("target label %s leaked into the page", l.GetName())
		}
	}
	if got := labelsOf(calls.Metric[0]); got != "dependency=pg,outcome=success" {
		t.Errorf("labels %q", got)
	}
	h := sc.Page.Family("resilience_attempt_duration_seconds")
	if h.GetType() != dto.MetricType_HISTOGRAM || len(h.Metric) != 1 {
		t.Fatalf("histogram: %v", h)
	}
	hist := h.Metric[0].GetHistogram()
	if len(hist.Bucket) != 2 || hist.GetSampleCount() != 3 || hist.GetSampleSum() != 1.5 || hist.Bucket[0].GetUpperBound() != 0.5 {
		t.Errorf("histogram: %v", hist)
	}
	sum := sc.Page.Family("resilience4j_circuitbreaker_calls_seconds")
	if sum.GetType() != dto.MetricType_SUMMARY || sum.Metric[0].GetSummary().GetSampleCount() != 4 {
		t.Errorf("a family of only _sum and _count is a summary: %v", sum)
	}
	if g := sc.Page.Family("resilience_timeout_seconds"); g.GetType() != dto.MetricType_UNTYPED {
		t.Errorf("without metadata a plain family is untyped, got %v", g.GetType())
	}
	// The selector's matchers are in every query.
	for _, q := range fake.Queries {
		if !strings.Contains(q, `job="orders"`) {
			t.Errorf("query %q lacks the selector", q)
		}
	}
	if !slices.Contains(fake.Queries, `resilience_calls_total{job="orders"}`) {
		t.Errorf("a counter known from metadata is asked for by name: %q", fake.Queries)
	}
	if labels := src.TargetLabels("a:1"); labels["pod"] != "orders-a" {
		t.Errorf("target labels %v", labels)
	}
	// The Store reads the pages as it reads scraped ones.
	store := model.NewStore(model.StoreOptions{Profiles: profile.Builtin()})
	for _, r := range res {
		store.Ingest(r)
	}
	snap := store.Snapshot(time.Now(), time.Minute)
	if len(snap.Dependencies) != 2 || snap.Dependencies[0].Name != "pg" {
		t.Errorf("dependencies: %+v", snap.Dependencies)
	}
}

func labelsOf(m *dto.Metric) string {
	var parts []string
	for _, l := range m.Label {
		parts = append(parts, l.GetName()+"="+l.GetValue())
	}
	return strings.Join(parts, ",")
}

// TestPromSourceErrors checks that every way Prometheus can fail reaches
// the Prometheus row as a clear message, and marks known instances stale.
func TestPromSourceErrors(t *testing.T) {
	jsonErr := func(code int, typ, msg string) func(http.ResponseWriter, *http.Request) bool {
		return func(w http.ResponseWriter, r *http.Request) bool {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			_, _ = w.Write([]byte(`{"status":"error","errorType":"` + typ + `","error":"` + msg + `"}`))
			return true
		}
	}
	cases := []struct {
		name string
		fail func(http.ResponseWriter, *http.Request) bool
		cfg  PromConfig
		want string
		// fresh: the failure comes from the first refresh, so no
		// instance is known yet to go stale.
		fresh bool
	}{
		{"bad selector", jsonErr(400, "bad_data", `1:14: parse error: unexpected \"}\" in label matching, expected string`),
			PromConfig{Selector: `{job=}`}, `check --selector): bad_data: 1:14: parse error: unexpected "}"`, true},
		{"server error with JSON", jsonErr(503, "unavailable", "too many queries"), PromConfig{},
			"Prometheus answered HTTP 503 Service Unavailable: unavailable: too many queries", false},
		{"proxy error page", func(w http.ResponseWriter, r *http.Request) bool {
			http.Error(w, "<html>bad gateway</html>", http.StatusBadGateway)
			return true
		}, PromConfig{}, "Prometheus answered HTTP 502 Bad Gateway: <html>bad gateway</html>", false},
		{"not the API (a UI page's URL)", func(w http.ResponseWriter, r *http.Request) bool {
			http.NotFound(w, r)
			return true
		}, PromConfig{}, "HTTP 404 Not Found: 404 page not found (is --prometheus the server's base URL, without /graph? resiltop appends /api/v1/…)", true},
		{"timeout", func(w http.ResponseWriter, r *http.Request) bool {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return true
		}, PromConfig{Timeout: 200 * time.Millisecond}, "timeout after 200ms", false},
		{"garbage", func(w http.ResponseWriter, r *http.Request) bool {
			_, _ = w.Write([]byte("{\"status\":\"success\",\"data\":{\"result\":[{\"metric\":{\"__name__\":1}"))
			return true
		}, PromConfig{}, "parse error", false},
		{"too many series", nil, PromConfig{MaxSeries: 5}, "more than 5 series (narrow --selector or raise --max-series)", true},
		{"too large", nil, PromConfig{BodyLimit: 300}, "larger than 300 bytes", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fake := &promtest.Fake{}
			fake.Set(promtest.Fleet(2, 1), 1700000000)
			src := newFakeSource(t, fake, c.cfg)
			if !c.fresh {
				first := byTarget(src.ScrapeAll(context.Background()))
				if first["10.0.0.0:8080"].Err != nil {
					t.Fatalf("first refresh: %v", first["10.0.0.0:8080"].Err)
				}
			}
			fake.Fail = c.fail
			res := byTarget(src.ScrapeAll(context.Background()))
			self := res[src.Name()]
			if self.Err == nil || !strings.Contains(self.Err.Error(), c.want) {
				t.Fatalf("Prometheus row error %v, want it to contain %q", self.Err, c.want)
			}
			if !c.fresh {
				inst := res["10.0.0.0:8080"]
				if inst.Err == nil || !strings.Contains(inst.Err.Error(), "no answer from Prometheus") {
					t.Errorf("a known instance must go stale, got %+v", inst)
				}
			}
		})
	}
}

// TestPromSourceCheck checks that a selector Prometheus rejects fails at
// start in Prometheus's words, and that an unreachable Prometheus does not.
func TestPromSourceCheck(t *testing.T) {
	fake := &promtest.Fake{Fail: func(w http.ResponseWriter, r *http.Request) bool {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"status":"error","errorType":"bad_data","error":"1:4: parse error: unexpected end of input"}`))
		return true
	}}
	if _, err := NewProm(PromConfig{URL: "http://127.0.0.1:1", Selector: `{job="x"`}); err == nil || !strings.Contains(err.Error(), "unbalanced braces") {
		t.Errorf("unbalanced braces: %v", err)
	}
	src := newFakeSource(t, fake, PromConfig{Selector: `{job=~"x"}`})
	if err := src.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "Prometheus says: 1:4: parse error: unexpected end of input") {
		t.Errorf("Check: %v", err)
	}
	down, err := NewProm(PromConfig{URL: "http://" + scrapetest.ClosedAddr(t), Families: fleetFamilies()})
	if err != nil {
		t.Fatal(err)
	}
	if err := down.Check(context.Background()); err != nil {
		t.Errorf("an unreachable Prometheus is shown, not refused at start: %v", err)
	}
	res := down.ScrapeAll(context.Background())
	if len(res) != 1 || res[0].Err == nil || !strings.Contains(res[0].Err.Error(), "connection refused") {
		t.Errorf("unreachable: %+v", res)
	}
}

// TestPromSourceWarnings checks that warnings and partial responses reach
// every scrape of the refresh, and the Store's target health.
func TestPromSourceWarnings(t *testing.T) {
	fake := &promtest.Fake{Warnings: []string{"store 10.1.1.1 unavailable"}, Partial: true}
	fake.Set(promtest.Fleet(1, 1), 1700000000)
	src := newFakeSource(t, fake, PromConfig{})
	res := src.ScrapeAll(context.Background())
	want := []string{"store 10.1.1.1 unavailable", "partial response: some of the data is missing"}
	store := model.NewStore(model.StoreOptions{Profiles: profile.Builtin()})
	for _, r := range res {
		if !slices.Equal(r.Warnings, want) {
			t.Errorf("%s: warnings %q, want %q", r.Target, r.Warnings, want)
		}
		store.Ingest(r)
	}
	for _, th := range store.Snapshot(time.Now(), time.Minute).Targets {
		if !slices.Equal(th.Warnings, want) {
			t.Errorf("%s health: warnings %q", th.URL, th.Warnings)
		}
	}
}

// TestPromSourceDownAndAbsent checks Prometheus's view of health: up == 0
// is down with the target's last error, an instance that vanished from the
// answer is stale, and an answer with nothing says the selector matched
// nothing.
func TestPromSourceDownAndAbsent(t *testing.T) {
	fake := &promtest.Fake{LastErrors: map[string]string{"10.0.0.1:8080": `Get "http://10.0.0.1:8080/metrics": dial tcp: connection refused`}}
	ss := promtest.Fleet(3, 1)
	fake.Set(ss, 1700000000)
	src := newFakeSource(t, fake, PromConfig{Selector: `{job="orders"}`})
	if res := byTarget(src.ScrapeAll(context.Background())); len(res) != 4 {
		t.Fatalf("got %d scrapes", len(res))
	}
	// Instance 1 goes down; instance 2 vanishes.
	var next []promtest.Series
	for _, s := range ss {
		switch s.Labels["instance"] {
		case "10.0.0.1:8080":
			if s.Labels["__name__"] == "up" {
				s.Value = 0
				next = append(next, s)
			}
		case "10.0.0.2:8080":
		default:
			next = append(next, s)
		}
	}
	fake.Set(next, 1700000001)
	res := byTarget(src.ScrapeAll(context.Background()))
	if err := res["10.0.0.1:8080"].Err; err == nil || err.Error() != "down in Prometheus: dial tcp: connection refused" {
		t.Errorf("down instance: %v", err)
	}
	if err := res["10.0.0.2:8080"].Err; err == nil || err.Error() != "absent from Prometheus's answer" {
		t.Errorf("vanished instance: %v", err)
	}
	if r := res["10.0.0.0:8080"]; r.Err != nil || r.Page.Series() == 0 {
		t.Errorf("healthy instance: %+v", r)
	}
	fake.LastErrors = nil
	fake.Set(next, 1700000002)
	if err := byTarget(src.ScrapeAll(context.Background()))["10.0.0.1:8080"].Err; err == nil || err.Error() != "down in Prometheus (up == 0)" {
		t.Errorf("down without the targets API: %v", err)
	}
	fake.Set(nil, 1700000003)
	res = byTarget(src.ScrapeAll(context.Background()))
	if err := res[src.Name()].Err; err == nil || !strings.Contains(err.Error(), `no series match --selector {job="orders"}`) {
		t.Errorf("empty answer: %v", err)
	}
	if err := res["10.0.0.0:8080"].Err; err == nil {
		t.Error("instances of an empty answer must go stale")
	}
}

// TestPromSourceThousandInstances checks that a 1,000-instance answer
// (108,000 series) becomes 1,000 pages within bounded memory, refresh after
// refresh.
func TestPromSourceThousandInstances(t *testing.T) {
	fake := &promtest.Fake{Types: promtest.FleetTypes}
	fake.Set(promtest.Fleet(1000, 1), 1700000000)
	// A memory bound, not a speed test: the generous timeout keeps it
	// meaningful under -race on a loaded machine (31 s seen at load 14).
	src := newFakeSource(t, fake, PromConfig{Timeout: 3 * time.Minute, Interval: 30 * time.Second})
	store := model.NewStore(model.StoreOptions{Profiles: profile.Builtin()})
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range 3 {
		fake.Set(promtest.Fleet(1000, float64(i+1)), 1700000000+float64(i))
		res := src.ScrapeAll(context.Background())
		if len(res) != 1001 {
			t.Fatalf("refresh %d: %d scrapes, want 1001", i, len(res))
		}
		for _, r := range res {
			if r.Err != nil {
				t.Fatalf("%s: %v", r.Target, r.Err)
			}
			store.Ingest(r)
		}
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("heap after 3 refreshes of 1,000 instances: +%d MB", grown>>20)
	// The Store holds 4,000 dependencies × 3 samples; the answers (some
	// 14 MB of JSON per refresh) must not stay.
	if grown > 150<<20 {
		t.Errorf("heap grew by %d MB", grown>>20)
	}
	snap := store.Snapshot(time.Now(), time.Minute)
	if len(snap.Dependencies) != 4000 {
		t.Errorf("%d dependencies, want 4000", len(snap.Dependencies))
	}
}

// TestPromSourceBackfill checks that the history is replayed in time order,
// one scrape per instance and step, each with its page, and that an
// instance down at the time is replayed down.
func TestPromSourceBackfill(t *testing.T) {
	fake := &promtest.Fake{Types: promtest.FleetTypes}
	series := promtest.Fleet(2, 1)
	for i, s := range series {
		if s.Labels["__name__"] == "up" && s.Labels["instance"] == "10.0.0.1:8080" {
			series[i].Value = 0
		}
	}
	fake.Set(series, 1700000000)
	// Several runs: each starts at another fraction of a millisecond.
	for range 5 {
		src := newFakeSource(t, fake, PromConfig{Interval: time.Second})
		var got []model.Scrape
		step, err := src.Backfill(context.Background(), 10*time.Second, func(s model.Scrape) { got = append(got, s) })
		if err != nil || step != time.Second {
			t.Fatalf("step %v, error %v", step, err)
		}
		if len(got) != 22 {
			t.Fatalf("%d scrapes, want 11 steps × 2 instances", len(got))
		}
		last := map[string]time.Time{}
		for _, s := range got {
			if !s.Time.After(last[s.Target]) {
				t.Fatalf("%s: %v after %v", s.Target, s.Time, last[s.Target])
			}
			last[s.Target] = s.Time
			switch s.Target {
			case "10.0.0.0:8080":
				if s.Err != nil || s.Page.Family("resilience_calls_total") == nil || s.Duration != 2*time.Millisecond {
					t.Fatalf("step at %v: %+v", s.Time, s)
				}
			case "10.0.0.1:8080":
				if s.Err == nil || s.Err.Error() != "down in Prometheus (up == 0)" {
					t.Fatalf("down instance at %v: %v", s.Time, s.Err)
				}
			}
		}
		if d := src.ScrapeInterval(context.Background()); d != 15*time.Second {
			t.Errorf("scrape interval %v, want the targets API's 15s", d)
		}
	}
}

// TestPromSourceRecovery: an instance marked stale while Prometheus was
// unreachable is up again with Prometheus's next sample of it, although
// that sample is older than the moment resiltop noticed the outage.
func TestPromSourceRecovery(t *testing.T) {
	fake := &promtest.Fake{}
	fake.Set(promtest.Fleet(1, 1), 1700000000)
	src := newFakeSource(t, fake, PromConfig{})
	store := model.NewStore(model.StoreOptions{Profiles: profile.Builtin()})
	refresh := func() map[string]model.TargetHealth {
		for _, r := range src.ScrapeAll(context.Background()) {
			store.Ingest(r)
		}
		out := map[string]model.TargetHealth{}
		for _, th := range store.Snapshot(time.Now(), time.Minute).Targets {
			out[th.URL] = th
		}
		return out
	}
	const inst = "10.0.0.0:8080"
	if h := refresh()[inst]; !h.Up {
		t.Fatalf("first refresh: %+v", h)
	}
	fake.Fail = func(w http.ResponseWriter, r *http.Request) bool {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return true
	}
	if h := refresh()[inst]; h.Up || h.Err != "no answer from Prometheus: Prometheus answered HTTP 503 Service Unavailable: down for maintenance" {
		t.Fatalf("during the outage: %+v", h)
	}
	fake.Fail = nil
	fake.Set(promtest.Fleet(1, 2), 1700000001)
	if h := refresh()[inst]; !h.Up {
		t.Errorf("after the outage: %+v", h)
	}
}

// TestPromSourceBackfillFails: a history that cannot be read is an error of
// Backfill and stays a warning on the Prometheus row while the live
// refreshes work.
func TestPromSourceBackfillFails(t *testing.T) {
	fake := &promtest.Fake{Fail: func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/api/v1/query_range" {
			return false
		}
		w.WriteHeader(http.StatusUnprocessableEntity)
		_, _ = w.Write([]byte(`{"status":"error","errorType":"execution","error":"query processing would load too many samples into memory"}`))
		return true
	}}
	fake.Set(promtest.Fleet(1, 1), 1700000000)
	src := newFakeSource(t, fake, PromConfig{})
	_, err := src.Backfill(context.Background(), time.Minute, func(model.Scrape) { t.Error("nothing to replay") })
	want := "history not loaded: Prometheus answered HTTP 422 Unprocessable Entity: execution: query processing would load too many samples into memory"
	if err == nil || "history not loaded: "+err.Error() != want {
		t.Fatalf("Backfill: %v", err)
	}
	for range 2 {
		res := byTarget(src.ScrapeAll(context.Background()))
		if self := res[src.Name()]; self.Err != nil || !slices.Contains(self.Warnings, want) {
			t.Errorf("Prometheus row: %v, warnings %q", self.Err, self.Warnings)
		}
		if inst := res["10.0.0.0:8080"]; inst.Err != nil || slices.Contains(inst.Warnings, want) {
			t.Errorf("instance: %v, warnings %q", inst.Err, inst.Warnings)
		}
	}
}

// TestPromSourceOpenMetricsMetadata: a target Prometheus scraped as
// OpenMetrics has its counters' metadata named without _total; the family
// is still typed counter from it.
func TestPromSourceOpenMetricsMetadata(t *testing.T) {
	fake := &promtest.Fake{Types: map[string]string{"resilience_calls": "counter", "resilience_retries": "gauge"}}
	fake.Set([]promtest.Series{
		fseries("up", 1, "instance", "a:1"),
		fseries("resilience_calls_total", 3, "instance", "a:1", "dependency", "pg", "outcome", "success"),
		fseries("resilience_retries_total", 1, "instance", "a:1", "dependency", "pg"),
	}, 1700000000)
	src := newFakeSource(t, fake, PromConfig{})
	page := byTarget(src.ScrapeAll(context.Background()))["a:1"].Page
	if got := page.Family("resilience_calls_total").GetType(); got != dto.MetricType_COUNTER {
		t.Errorf("calls typed %v, want COUNTER", got)
	}
	if got := page.Family("resilience_retries_total").GetType(); got != dto.MetricType_UNTYPED {
		t.Errorf("retries typed %v: only a counter's metadata drops _total", got)
	}
}

// TestPromSourceGroupByNotUnique: a --group-by label that several targets
// share, or that some lack, would mix their series into one page (rates
// and breaker states of no real replica); those groups fail with the reason
// instead, and a label unique to each target still works.
func TestPromSourceGroupByNotUnique(t *testing.T) {
	fake := &promtest.Fake{}
	ss := promtest.Fleet(4, 1)
	zone := map[string]string{"10.0.0.0:8080": "a", "10.0.0.1:8080": "a", "10.0.0.2:8080": "b"}
	for i := range ss {
		if z := zone[ss[i].Labels["instance"]]; z != "" {
			ss[i].Labels["zone"] = z
		}
	}
	fake.Set(ss, 1700000000)
	tests := []struct {
		groupBy string
		errs    map[string]string // group → error; "" for a good page
	}{
		{"zone", map[string]string{"a": `2 targets share zone="a"`, "b": "", "(no zone)": ""}},
		{"rack", map[string]string{"(no rack)": "4 targets without a rack label"}},
		{"instance", map[string]string{"10.0.0.0:8080": "", "10.0.0.3:8080": ""}},
	}
	for _, tt := range tests {
		src := newFakeSource(t, fake, PromConfig{GroupBy: tt.groupBy})
		// The history at start: the same groups, the same errors.
		var hist []model.Scrape
		if _, err := src.Backfill(context.Background(), 3*time.Second, func(s model.Scrape) { hist = append(hist, s) }); err != nil {
			t.Fatal(err)
		}
		check := func(what string, res map[string]model.Scrape) {
			for g, want := range tt.errs {
				r, ok := res[g]
				switch {
				case !ok:
					t.Errorf("%s, --group-by %s: no group %s in %v", what, tt.groupBy, g, slices.Collect(maps.Keys(res)))
				case want == "" && (r.Err != nil || r.Page == nil || r.Page.Series() == 0):
					t.Errorf("%s, --group-by %s: group %s: %v, want a page", what, tt.groupBy, g, r.Err)
				case want != "" && (r.Err == nil || !strings.Contains(r.Err.Error(), want) || r.Page != nil):
					t.Errorf("%s, --group-by %s: group %s: %v, want the error %q and no page", what, tt.groupBy, g, r.Err, want)
				}
			}
		}
		check("history", byTarget(hist))
		check("refresh", byTarget(src.ScrapeAll(context.Background())))
	}
}
