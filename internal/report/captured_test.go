package report

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"resiltop/internal/model"
	"resiltop/internal/profile"
	"resiltop/internal/scrape"
)

// TestCapturedPgsimPages reads the pages captured from real pgsim runs
// (testdata/pgsim, two pages 2 s apart per scenario) through the real parser
// and Store, checks the finding each scenario must produce on pg and what
// the db pool shows, and compares the whole --once JSON with
// testdata/pgsim/<scenario>.json here.
func TestCapturedPgsimPages(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "pgsim")
	tests := []struct {
		scenario string
		want     []model.FindingKind // on pg
		breaker  model.BreakerState  // pg's; "" either
		db       string              // the db pool: "drained" (all in use, waiters), "healthy", "" either
	}{
		{"steady", nil, model.BreakerClosed, "healthy"},
		{"outage", []model.FindingKind{model.BreakerOpenKind}, model.BreakerOpen, "healthy"},
		// 10 s in, pg's breaker may just have opened, which frees the db
		// pool that slow drains; the drain is asserted live in internal/app.
		{"slow", []model.FindingKind{model.TailNearTimeout}, "", ""},
		// flaky's attempt failures storm retries; whether the breaker has
		// tripped 10 s in is chance (about 45% of calls fail, against its
		// 50% threshold). The live view shows both in turn.
		{"flaky", []model.FindingKind{model.RetryStorm}, "", "healthy"},
		// 10 s in, the first blackholed calls are still in their third
		// attempt (timeouts_rising comes a moment later, live): the tail
		// sits at the timeout and the db pool is drained.
		{"blackhole", []model.FindingKind{model.TailNearTimeout}, "", "drained"},
		{"callback-loss", nil, model.BreakerClosed, "healthy"},
	}
	const target = "http://127.0.0.1:9102/metrics"
	t0 := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			store := model.NewStore(model.StoreOptions{Profiles: profile.Builtin()})
			for i, name := range []string{tt.scenario + ".earlier.prom", tt.scenario + ".prom"} {
				body, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				page, err := scrape.ParsePage(body, "text/plain; version=0.0.4; charset=utf-8", scrape.DefaultMaxSeries)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				store.Ingest(model.Scrape{Target: target, Time: t0.Add(time.Duration(i) * 2 * time.Second),
					Duration: 5 * time.Millisecond, Bytes: int64(len(body)), Page: page})
			}
			snap := store.Snapshot(t0.Add(2*time.Second), time.Minute)
			var pg, db *model.Dependency
			for i := range snap.Dependencies {
				switch snap.Dependencies[i].Name {
				case "pg":
					pg = &snap.Dependencies[i]
				case "db":
					db = &snap.Dependencies[i]
				}
			}
			if pg == nil || db == nil || len(snap.Dependencies) != 4 {
				t.Fatalf("want pg, mail, stock and db; got %d dependencies", len(snap.Dependencies))
			}
			var kinds []model.FindingKind
			for _, f := range pg.Findings {
				kinds = append(kinds, f.Kind)
			}
			for _, k := range tt.want {
				if !slices.Contains(kinds, k) {
					t.Errorf("pg findings %v lack %s", kinds, k)
				}
			}
			if tt.want == nil {
				for _, f := range pg.Findings {
					if f.Severity == model.Critical {
						t.Errorf("critical finding under %s: %s", tt.scenario, f.Message)
					}
				}
			}
			if tt.breaker != "" && pg.Breaker.State != tt.breaker {
				t.Errorf("pg breaker %s, want %s", pg.Breaker.State, tt.breaker)
			}
			drained := db.Pool.InUse == db.Pool.Max && db.Pool.Pending > 0
			if want := map[string]bool{"drained": true, "healthy": false}; tt.db != "" && drained != want[tt.db] {
				t.Errorf("db pool %v of %v in use, %v waiting; want it %s", db.Pool.InUse, db.Pool.Max, db.Pool.Pending, tt.db)
			}
			if !pg.CallsPerSecond.Known() {
				t.Error("pg has no call rate from two pages")
			}
			var buf bytes.Buffer
			if err := JSON(&buf, snap); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("pgsim", tt.scenario+".json"), buf.Bytes())
		})
	}
}
