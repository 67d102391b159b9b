package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"resiltop/internal/app"
	"resiltop/internal/model"
	"resiltop/internal/pgsim"
	"resiltop/internal/profile"
	"resiltop/internal/scrape"
	"resiltop/internal/scrape/promtest"
	"resiltop/internal/scrape/scrapetest"
)

// The fleet tests share one real Prometheus (started on first use, stopped
// by TestMain) and one fleet of three pgsim replicas, the third with
// pg=outage; a test that changes its fleet (kills a replica) brings its own
// under its own job.
var (
	promOnce   sync.Once
	promServer *promtest.Server
	promSkip   string
	promErr    error
	promDir    string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fleet != nil {
		fleet.Close()
	}
	if promServer != nil {
		promServer.Stop()
	}
	if promDir != "" {
		os.RemoveAll(promDir)
	}
	os.Exit(code)
}

// sharedProm returns the shared Prometheus, or skips the test when the
// binary is not installed.
func sharedProm(t *testing.T) *promtest.Server {
	t.Helper()
	promOnce.Do(func() {
		promDir, promErr = os.MkdirTemp("", "resiltop-prom-")
		if promErr == nil {
			promServer, promSkip, promErr = promtest.StartMain(promDir)
		}
	})
	if promSkip != "" {
		t.Skip(promSkip)
	}
	if promErr != nil {
		t.Fatal(promErr)
	}
	return promServer
}

// replicas is a fleet of pgsim order services scraped by the shared Prometheus.
type replicas struct {
	job   string
	sims  []*pgsim.Sim
	hosts []string // host:port of each order service, Prometheus's instance label
	stop  func()   // stops Prometheus scraping them
}

// startReplicas starts pgsim replicas at rps orders per second, with
// scenarios[i] for replica i, and has Prometheus scrape them as job until
// each was scraped three times. Close stops them.
func startReplicas(prom *promtest.Server, job string, rps float64, scenarios []map[string]string) (*replicas, error) {
	r := &replicas{job: job}
	for i := range scenarios {
		sim, err := pgsim.Start(context.Background(), pgsim.Config{RPS: rps, Scenarios: scenarios[i], Seed: int64(i + 1)})
		if err != nil {
			r.Close()
			return nil, err
		}
		r.sims = append(r.sims, sim)
		u, err := url.Parse(sim.MetricsURL)
		if err != nil {
			r.Close()
			return nil, err
		}
		r.hosts = append(r.hosts, u.Host)
	}
	stop, err := prom.Scrape(job, r.hosts...)
	if err != nil {
		r.Close()
		return nil, err
	}
	r.stop = stop
	if err := prom.WaitScraped(job, len(r.hosts), 3); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// Close stops scraping the replicas and stops them.
func (r *replicas) Close() {
	if r.stop != nil {
		r.stop()
	}
	for _, s := range r.sims {
		s.Close()
	}
}

var (
	fleetOnce sync.Once
	fleet     *replicas
	fleetErr  error
)

// sharedFleet returns the three shared replicas, the third with pg=outage;
// TestMain stops them.
func sharedFleet(t *testing.T) (*promtest.Server, *replicas) {
	t.Helper()
	prom := sharedProm(t)
	fleetOnce.Do(func() {
		fleet, fleetErr = startReplicas(prom, "orders", 40, []map[string]string{nil, nil, {"pg": "outage"}})
	})
	if fleetErr != nil {
		t.Fatal(fleetErr)
	}
	return prom, fleet
}

// runMain runs resiltop's Main with args and returns its exit code, stdout
// and stderr.
func runMain(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code := app.Main(ctx, args, app.Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
	return code, out.String(), errb.String()
}

// report is the part of --once -o json these tests read.
type report struct {
	Targets []struct {
		URL   string  `json:"url"`
		Up    bool    `json:"up"`
		Error *string `json:"error"`
	} `json:"targets"`
	Dependencies []struct {
		Target  string `json:"target"`
		Name    string `json:"name"`
		Breaker struct {
			State string `json:"state"`
		} `json:"breaker"`
		CallsPerSecond *float64 `json:"calls_per_second"`
		TimeoutSeconds *float64 `json:"timeout_seconds"`
		Pool           struct {
			Max *float64 `json:"max"`
		} `json:"pool"`
		Bulkhead struct {
			Max *float64 `json:"max"`
		} `json:"bulkhead"`
		Findings []struct {
			Kind string `json:"kind"`
		} `json:"findings"`
	} `json:"dependencies"`
}

func parseReport(t *testing.T, out string) report {
	t.Helper()
	var r report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("--once -o json: %v\n%s", err, out)
	}
	return r
}

// TestFleetReplicas: three replicas, one with pg=outage, read through
// Prometheus give three pg rows, the outage one with breaker_open, and the
// same numbers as scraping the replicas directly at the same time: states
// and configuration gauges exactly, rates within 10%.
func TestFleetReplicas(t *testing.T) {
	prom, f := sharedFleet(t)
	// The direct run scrapes, waits 12 s and scrapes again; the fleet run
	// right after it reads the last 12 s from Prometheus: the same span,
	// give or take one of Prometheus's scrapes (1 s) at each end. Over 6 s
	// those edges alone moved a loaded host's rates by up to 17%.
	args := []string{"--once", "-o", "json", "--interval", "12s"}
	for _, s := range f.sims {
		args = append(args, "--target", s.MetricsURL)
	}
	directCode, directOut, directErr := runMain(t, args...)
	fleetCode, fleetOut, fleetErr := runMain(t, "--prometheus", prom.URL, "--selector", `{job="orders"}`, "--once", "-o", "json",
		"--interval", "3s", "--window", "12s") // 3 s: the refresh's timeout (80%) must hold under -race on a loaded host
	// Exit 1 would be findings (not asked for); 0 is every target up.
	if fleetCode != app.ExitOK || directCode != app.ExitOK {
		t.Fatalf("exit codes fleet %d, direct %d\n%s\n%s", fleetCode, directCode, fleetErr, directErr)
	}
	fr, dr := parseReport(t, fleetOut), parseReport(t, directOut)
	direct := map[string]int{}
	for i, d := range dr.Dependencies {
		u, _ := url.Parse(d.Target)
		direct[u.Host+"/"+d.Name] = i
	}
	var pgRows []string
	for _, d := range fr.Dependencies {
		if d.Name == "pg" {
			pgRows = append(pgRows, d.Target)
		}
		i, ok := direct[d.Target+"/"+d.Name]
		if !ok {
			t.Errorf("fleet row %s/%s has no direct counterpart", d.Target, d.Name)
			continue
		}
		dd := dr.Dependencies[i]
		outage := d.Target == f.hosts[2] && d.Name == "pg"
		// The outage breaker probes every 10 s: a half-open moment may
		// fall between Prometheus's sample and the direct scrape.
		if d.Breaker.State != dd.Breaker.State && !(outage && slices.Contains([]string{"open", "half_open"}, dd.Breaker.State)) {
			t.Errorf("%s/%s: breaker %s through Prometheus, %s direct", d.Target, d.Name, d.Breaker.State, dd.Breaker.State)
		}
		for _, g := range []struct {
			name string
			a, b *float64
		}{{"timeout", d.TimeoutSeconds, dd.TimeoutSeconds}, {"pool max", d.Pool.Max, dd.Pool.Max}, {"bulkhead max", d.Bulkhead.Max, dd.Bulkhead.Max}} {
			if (g.a == nil) != (g.b == nil) || (g.a != nil && *g.a != *g.b) {
				t.Errorf("%s/%s %s: %v through Prometheus, %v direct", d.Target, d.Name, g.name, deref(g.a), deref(g.b))
			}
		}
		if d.CallsPerSecond == nil || dd.CallsPerSecond == nil {
			t.Errorf("%s/%s: calls/s unknown", d.Target, d.Name)
			continue
		}
		a, b := *d.CallsPerSecond, *dd.CallsPerSecond
		if b >= 5 && math.Abs(a-b)/b > 0.10 {
			t.Errorf("%s/%s: %.2f calls/s through Prometheus, %.2f direct (over 10%% apart)", d.Target, d.Name, a, b)
		}
		if outage && !slices.ContainsFunc(d.Findings, func(f struct {
			Kind string `json:"kind"`
		}) bool {
			return f.Kind == string(model.BreakerOpenKind)
		}) {
			t.Errorf("outage replica's pg lacks breaker_open: %+v", d.Findings)
		}
	}
	slices.Sort(pgRows)
	want := slices.Sorted(slices.Values(f.hosts))
	if !slices.Equal(pgRows, want) {
		t.Errorf("pg rows %v, want one per replica %v", pgRows, want)
	}
	for _, tg := range fr.Targets {
		if tg.URL != prom.URL && strings.Contains(tg.URL, "/") {
			t.Errorf("instance target %q should be the instance label", tg.URL)
		}
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// TestFleetBackfill: the history loaded at start reaches back before
// resiltop started: a breaker timeline, points and events older than the
// first live refresh.
func TestFleetBackfill(t *testing.T) {
	prom, f := sharedFleet(t)
	// Some seconds of history, also when this test runs alone.
	if err := prom.WaitScraped(f.job, len(f.hosts), 8); err != nil {
		t.Fatal(err)
	}
	src, err := scrape.NewProm(scrape.PromConfig{URL: prom.URL, Selector: `{job="orders"}`, Families: families(),
		Interval: time.Second, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	store := model.NewStore(model.StoreOptions{Profiles: profile.Builtin()})
	start := time.Now()
	if _, err := src.Backfill(context.Background(), 15*time.Minute, store.Ingest); err != nil {
		t.Fatal(err)
	}
	snap := store.Snapshot(time.Now(), 15*time.Minute)
	var pg *model.Dependency
	for i := range snap.Dependencies {
		if d := &snap.Dependencies[i]; d.Target == f.hosts[2] && d.Name == "pg" {
			pg = d
		}
	}
	if pg == nil {
		t.Fatalf("no pg of the outage replica in the backfill: %+v", snap.Targets)
	}
	if len(pg.History) < 3 || !pg.History[0].Time.Before(start.Add(-2*time.Second)) {
		t.Fatalf("history of %d points, first at %v; want points from before %v", len(pg.History), firstTime(pg.History), start)
	}
	open := false
	for _, p := range pg.History {
		if p.Time.Before(start) && p.Breaker == model.BreakerOpen {
			open = true
		}
	}
	if !open {
		t.Errorf("no open breaker in the timeline before resiltop started: %+v", pg.History)
	}
	if d := src.ScrapeInterval(context.Background()); d != promtest.ScrapeInterval {
		t.Errorf("Prometheus's scrape interval %v, want %v", d, promtest.ScrapeInterval)
	}
	// The first live refresh continues the history instead of starting over.
	for _, r := range src.ScrapeAll(context.Background()) {
		store.Ingest(r)
	}
	for _, th := range store.Snapshot(time.Now(), time.Minute).Targets {
		if !th.Up {
			t.Errorf("%s down after the first refresh: %s", th.URL, th.Err)
		}
	}
}

func firstTime(h []model.Point) time.Time {
	if len(h) == 0 {
		return time.Time{}
	}
	return h[0].Time
}

// families are the families the built-in profiles read.
func families() []string {
	var out []string
	for _, p := range profile.Builtin() {
		out = append(out, p.Families()...)
	}
	return out
}

// TestFleetSelectors: a selector that matches nothing says so (exit 3, as
// for a target that cannot be read), and one Prometheus rejects fails at
// start with Prometheus's own parse message (exit 2).
func TestFleetSelectors(t *testing.T) {
	prom, _ := sharedFleet(t)
	code, out, _ := runMain(t, "--prometheus", prom.URL, "--selector", `{job="nope"}`, "--once")
	if code != app.ExitTargetDown || !strings.Contains(out, `no series match --selector {job="nope"}`) {
		t.Errorf("selector matching nothing: exit %d\n%s", code, out)
	}
	code, _, errOut := runMain(t, "--prometheus", prom.URL, "--selector", `{job=}`, "--once")
	if code != app.ExitUsage || !strings.Contains(errOut, "Prometheus says:") || !strings.Contains(errOut, "parse error") {
		t.Errorf("bad selector: exit %d\n%s", code, errOut)
	}
}

// TestFleetPrometheusDown: an unreachable Prometheus is exit 3 with the reason.
func TestFleetPrometheusDown(t *testing.T) {
	code, out, errOut := runMain(t, "--prometheus", "http://"+scrapetest.ClosedAddr(t), "--once")
	if code != app.ExitTargetDown || !strings.Contains(out, "connection refused") {
		t.Errorf("exit %d\n%s\n%s", code, out, errOut)
	}
}

// TestFleetKill: a replica that dies is down in resiltop within two of
// Prometheus's scrapes, with Prometheus's reason, while the others keep
// refreshing.
func TestFleetKill(t *testing.T) {
	prom := sharedProm(t)
	f, err := startReplicas(prom, "kill", 10, []map[string]string{nil, nil, nil})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	src, err := scrape.NewProm(scrape.PromConfig{URL: prom.URL, Selector: `{job="kill"}`, Families: families(),
		Interval: 500 * time.Millisecond, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	store := model.NewStore(model.StoreOptions{Profiles: profile.Builtin()})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		src.Run(ctx, store.Ingest)
	}()
	defer func() { cancel(); <-done }()
	health := func() map[string]model.TargetHealth {
		out := map[string]model.TargetHealth{}
		for _, th := range store.Snapshot(time.Now(), time.Minute).Targets {
			out[th.URL] = th
		}
		return out
	}
	waitFor(t, 30*time.Second, "all three replicas up", func() bool {
		h := health()
		return h[f.hosts[0]].Up && h[f.hosts[1]].Up && h[f.hosts[2]].Up
	})
	f.sims[1].Close()
	killed := time.Now()
	waitFor(t, 30*time.Second, "the killed replica down and the others refreshed since", func() bool {
		h := health()
		return !h[f.hosts[1]].Up && h[f.hosts[0]].LastScrape.After(killed.Add(2*time.Second)) &&
			h[f.hosts[2]].LastScrape.After(killed.Add(2*time.Second))
	})
	h := health()[f.hosts[1]]
	if !strings.Contains(h.Err, "down in Prometheus") {
		t.Errorf("down replica's error %q", h.Err)
	}
	// When it went down is Prometheus's first failed scrape, which the
	// event log stamps: at most two scrape intervals after the kill.
	var first time.Time
	for _, ev := range store.Snapshot(time.Now(), time.Minute).Events {
		if ev.Target == f.hosts[1] && strings.HasPrefix(ev.Message, "scrape failed") {
			first = ev.Time
			break
		}
	}
	if lag := first.Sub(killed); first.IsZero() || lag > 2*promtest.ScrapeInterval+100*time.Millisecond {
		t.Errorf("down after %v (first failed scrape at %v), want within two scrapes", lag, first)
	}
	for _, i := range []int{0, 2} {
		if th := health()[f.hosts[i]]; !th.Up {
			t.Errorf("replica %d went down too: %s", i, th.Err)
		}
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
