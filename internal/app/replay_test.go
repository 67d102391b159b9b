package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"resiltop/internal/model"
	"resiltop/internal/pgsim"
	"resiltop/internal/profile"
	"resiltop/internal/record"
	"resiltop/internal/report"
	"resiltop/internal/scrape"
)

// recordInterval is the scrape interval of the recorded incident: 1 s, so
// that scrapes (timeout 800 ms) keep their pace under -race on a loaded machine.
const recordInterval = time.Second

// recordWindow is the window of the live and replayed snapshots.
const recordWindow = 10 * time.Second

// incident is a recording of pgsim through steady → outage → steady, with
// what the live resiltop showed while it was made.
type recordedIncident struct {
	path     string
	live     *model.Timeline // the live Store's findings, sampled after every scrape
	liveJSON []byte          // the --once contract of the live Store during the outage
	at       time.Time       // when liveJSON was taken
	outage   [2]time.Time    // when pg's scenario switched to outage and back
	emits    []string        // each live scrape: when it was ingested, its error; for failure messages
}

var (
	incidentOnce sync.Once
	recorded     *recordedIncident
	recordErr    string
)

// recordIncident records 20 s of a real pgsim on loopback, through the same
// pipeline as --record (HTTPSource → sink: Store and Writer): 6 s steady,
// 7 s of pg outage, 7 s steady again. It is made once and shared.
func recordIncident(t *testing.T) *recordedIncident {
	t.Helper()
	if testing.Short() {
		t.Skip("records 20 s of pgsim")
	}
	incidentOnce.Do(func() { recorded, recordErr = makeIncident() })
	if recordErr != "" {
		t.Fatal(recordErr)
	}
	return recorded
}

func makeIncident() (*recordedIncident, string) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sim, err := pgsim.Start(ctx, pgsim.Config{RPS: 20, Seed: 7, Timing: pgsim.Timing{BreakerOpen: 2 * time.Second}})
	if err != nil {
		return nil, err.Error()
	}
	defer sim.Close()
	dir, err := os.MkdirTemp("", "resiltop-incident")
	if err != nil {
		return nil, err.Error()
	}
	inc := &recordedIncident{path: filepath.Join(dir, "incident.rec"), live: &model.Timeline{}}
	profiles := profile.Builtin()
	store := model.NewStore(model.StoreOptions{Profiles: profiles})
	w, err := record.Create(inc.path, record.Meta{Started: time.Now(), Interval: recordInterval, Window: recordWindow},
		record.Options{Keep: record.KeepFamilies(profiles)})
	if err != nil {
		return nil, err.Error()
	}
	defer w.Close()
	src, err := scrape.New([]scrape.Target{{URL: sim.MetricsURL, Interval: recordInterval}})
	if err != nil {
		return nil, err.Error()
	}
	sk := &sink{store: store, rec: w}
	var mu sync.Mutex
	wantJSON := false
	pos := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		src.Run(ctx, func(s model.Scrape) {
			sk.ingest(s)
			pos++
			snap := store.Snapshot(time.Now(), recordWindow)
			inc.emits = append(inc.emits, fmt.Sprintf("%d %s→%s err=%v", pos, s.Time.Format("05.000"), snap.Time.Format("05.000"), s.Err))
			inc.live.Observe(pos, snap)
			mu.Lock()
			defer mu.Unlock()
			if wantJSON {
				wantJSON = false
				var buf bytes.Buffer
				if err := report.JSON(&buf, snap); err == nil {
					inc.liveJSON, inc.at = buf.Bytes(), snap.Time
				}
			}
		})
	}()
	time.Sleep(6 * time.Second)
	inc.outage[0] = time.Now()
	if err := sim.SetScenario("pg", "outage"); err != nil {
		return nil, err.Error()
	}
	time.Sleep(4 * time.Second)
	mu.Lock()
	wantJSON = true
	mu.Unlock()
	time.Sleep(3 * time.Second)
	inc.outage[1] = time.Now()
	if err := sim.SetScenario("pg", "steady"); err != nil {
		return nil, err.Error()
	}
	time.Sleep(7 * time.Second)
	cancel()
	<-done
	if inc.liveJSON == nil {
		return nil, "no live JSON was captured during the outage"
	}
	return inc, ""
}

// key names a finding span for comparisons.
func key(sp model.FindingSpan) string { return sp.Dependency + "/" + string(sp.Kind) }

// TestReplayShowsTheSameFindings: the recording, replayed through a fresh
// Store, shows the findings the live Store showed, starting and ending at
// the same recorded times within one interval; the outage's breaker_open
// on pg is among them.
func TestReplayShowsTheSameFindings(t *testing.T) {
	inc := recordIncident(t)
	f, err := record.Open(inc.path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Skipped() != 0 || f.Len() < 15 {
		t.Fatalf("%d records, %d bytes skipped", f.Len(), f.Skipped())
	}
	replayed, err := model.BuildTimeline(model.NewStore(model.StoreOptions{Profiles: profile.Builtin()}), f.All(), recordWindow, time.Nanosecond)
	if err != nil {
		t.Fatal(err)
	}
	spans := func(tl *model.Timeline) map[string][]model.FindingSpan {
		out := map[string][]model.FindingSpan{}
		for _, sp := range tl.Spans {
			out[key(sp)] = append(out[key(sp)], sp)
		}
		return out
	}
	live, rep := spans(inc.live), spans(replayed)
	if len(live["pg/breaker_open"]) == 0 {
		t.Fatalf("the live view never showed pg's breaker open: %v", inc.live.Spans)
	}
	near := func(a, b time.Time) bool {
		if a.IsZero() || b.IsZero() {
			return a.IsZero() == b.IsZero()
		}
		return math.Abs(float64(a.Sub(b))) <= float64(recordInterval)
	}
	for k, ls := range live {
		rs := rep[k]
		if len(rs) != len(ls) {
			t.Errorf("%s: live %d spans %v, replayed %d %v", k, len(ls), starts(ls), len(rs), starts(rs))
			continue
		}
		for i := range ls {
			if !near(ls[i].Start, rs[i].Start) || !near(ls[i].End, rs[i].End) {
				t.Errorf("%s span %d: live %v–%v, replayed %v–%v\nlive marks %v, replayed %v\nlive scrapes:\n%s", k, i,
					ls[i].Start, ls[i].End, rs[i].Start, rs[i].End, inc.live.Marks, replayed.Marks, strings.Join(inc.emits, "\n"))
			}
		}
	}
	for k := range rep {
		if _, ok := live[k]; !ok {
			t.Errorf("replay shows %s, which the live view never did", k)
		}
	}
	open := live["pg/breaker_open"][0]
	if open.Start.Before(inc.outage[0]) || open.Start.After(inc.outage[1]) {
		t.Errorf("pg's breaker opened at %v, outside the outage %v–%v", open.Start, inc.outage[0], inc.outage[1])
	}
}

func starts(ss []model.FindingSpan) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.Start.Format("15:04:05.000")+"–"+s.End.Format("15:04:05.000"))
	}
	return out
}

// TestOnceReplayAtMatchesLive: --once --replay --at T prints what the live
// Store's --once JSON said at T: the same breaker states and findings, and
// rates within 5%.
func TestOnceReplayAtMatchesLive(t *testing.T) {
	inc := recordIncident(t)
	code, out, errOut := run(t, context.Background(), "--once", "-o", "json", "--replay", inc.path,
		"--window", recordWindow.String(), "--at", inc.at.UTC().Format(time.RFC3339Nano))
	if code != ExitOK && code != ExitFindings && code != ExitTargetDown {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var live, rep onceOutput
	if err := json.Unmarshal(inc.liveJSON, &live); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(live.Dependencies) < 3 || len(rep.Dependencies) != len(live.Dependencies) {
		t.Fatalf("live %d dependencies, replayed %d:\n%s", len(live.Dependencies), len(rep.Dependencies), out)
	}
	sawOpen := false
	for i, l := range live.Dependencies {
		r := rep.Dependencies[i]
		if r.Name != l.Name || r.Breaker.State != l.Breaker.State {
			t.Errorf("dependency %d: live %s %s, replayed %s %s", i, l.Name, l.Breaker.State, r.Name, r.Breaker.State)
		}
		// A 2 s open period half-opens and reopens during the outage.
		sawOpen = sawOpen || l.Name == "pg" && (l.Breaker.State == "open" || l.Breaker.State == "half_open")
		if len(r.Findings) != len(l.Findings) {
			t.Errorf("%s: live findings %+v, replayed %+v", l.Name, l.Findings, r.Findings)
		} else {
			for j := range l.Findings {
				if r.Findings[j].Kind != l.Findings[j].Kind || r.Findings[j].Severity != l.Findings[j].Severity || r.Findings[j].Advice == "" {
					t.Errorf("%s finding %d: live %+v, replayed %+v", l.Name, j, l.Findings[j], r.Findings[j])
				}
			}
		}
		for _, v := range []struct {
			name string
			l, r *float64
		}{{"calls", l.CallsPerSecond, r.CallsPerSecond}, {"errors", l.ErrorRatio, r.ErrorRatio},
			{"timeouts", l.TimeoutsPerSecond, r.TimeoutsPerSecond}, {"retries", l.RetriesPerSecond, r.RetriesPerSecond},
			{"unsafe retries", l.UnsafeRetriesPerSecond, r.UnsafeRetriesPerSecond}, {"pending", l.Pending.Count, r.Pending.Count}} {
			if (v.l == nil) != (v.r == nil) || v.l != nil && math.Abs(*v.l-*v.r) > 0.05*math.Abs(*v.l)+1e-9 {
				t.Errorf("%s %s: live %v, replayed %v", l.Name, v.name, deref(v.l), deref(v.r))
			}
		}
	}
	code, _, errOut = run(t, context.Background(), "--once", "--replay", inc.path, "--at", "2000-01-01T00:00:00Z")
	if code != ExitUsage || !strings.Contains(errOut, "outside the recording") {
		t.Errorf("--at before the recording: exit %d, %q", code, errOut)
	}
	if !sawOpen {
		t.Errorf("the live JSON, taken 4 s into the outage, does not show pg's breaker open:\n%s", inc.liveJSON)
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// incidentFile returns the recording's bytes and the recording opened.
func incidentFile(t *testing.T) ([]byte, *record.File) {
	t.Helper()
	inc := recordIncident(t)
	full, err := os.ReadFile(inc.path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := record.Open(inc.path)
	if err != nil {
		t.Fatal(err)
	}
	return full, f
}

// TestReplayTruncated: a recording cut in the middle of a record replays
// up to the cut and says how much it skipped.
func TestReplayTruncated(t *testing.T) {
	full, f := incidentFile(t)
	k := f.Len() / 2
	e := f.Entry(k)
	lastKept := f.Entry(k - 1).Arrival()
	f.Close()
	cut := filepath.Join(t.TempDir(), "cut.rec")
	if err := os.WriteFile(cut, full[:e.Offset+int64(e.Len)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, context.Background(), "--once", "-o", "json", "--replay", cut)
	if code != ExitOK && code != ExitFindings && code != ExitTargetDown {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, "the last record was cut short") || !strings.Contains(errOut, "skipped its") {
		t.Errorf("stderr %q does not say the tail was skipped", errOut)
	}
	var doc struct {
		Time string `json:"time"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if want := lastKept.UTC().Format(time.RFC3339); doc.Time != want {
		t.Errorf("replayed to %s, want the last whole record's %s", doc.Time, want)
	}
}

// TestReplayBadFiles: a foreign or corrupt file is a clear error, exit 2.
func TestReplayBadFiles(t *testing.T) {
	full, f := incidentFile(t)
	mid := f.Entry(3).Offset + 12
	f.Close()
	corrupt := bytes.Clone(full)
	corrupt[mid] ^= 0xff
	dir := t.TempDir()
	files := map[string][]byte{"foreign.txt": []byte("up 1\n"), "corrupt.rec": corrupt}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct{ file, want string }{
		{"foreign.txt", "not a resiltop recording"},
		{"corrupt.rec", "recording corrupt at record 3"},
		{"missing.rec", "no such file"},
	}
	for _, tt := range tests {
		for _, args := range [][]string{{"--once", "--replay"}, {"report"}} {
			code, _, errOut := run(t, context.Background(), append(args, filepath.Join(dir, tt.file))...)
			if code != ExitUsage || !strings.Contains(errOut, tt.want) || !strings.Contains(errOut, tt.file) ||
				!strings.Contains(errOut, "recording") {
				t.Errorf("%v %s: exit %d, stderr %q; want 2 and %q", args, tt.file, code, errOut, tt.want)
			}
		}
	}
}

// TestReportNamesTheOutage: the incident report names pg's trouble window,
// which starts within the outage and ends after it, and the worst minute.
func TestReportNamesTheOutage(t *testing.T) {
	inc := recordIncident(t)
	code, md, errOut := run(t, context.Background(), "report", inc.path)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var window string
	for _, l := range strings.Split(md, "\n") {
		if strings.HasPrefix(l, "- pg: ") && strings.Contains(l, "breaker_open") {
			window = l
		}
	}
	if window == "" {
		t.Fatalf("no pg trouble window with breaker_open:\n%s", md)
	}
	// "- pg: 03:04:10–03:04:25 (15s) — breaker_open"
	var from, to string
	if f := strings.Fields(strings.TrimPrefix(window, "- pg: ")); len(f) > 0 {
		from, to, _ = strings.Cut(f[0], "–")
	}
	day := inc.outage[0].UTC().Format("2006-01-02 ")
	start, err1 := time.Parse("2006-01-02 15:04:05", day+from)
	end, err2 := time.Parse("2006-01-02 15:04:05", day+to)
	if err1 != nil || err2 != nil {
		t.Fatalf("window %q: %v %v", window, err1, err2)
	}
	// The window may open before the outage: steady's own retries can read
	// "retrying heavily" just before it, and a window spans every finding.
	// It must reach into the outage and last until its end, and the
	// timeline must date the breaker's opening inside it.
	if start.After(inc.outage[1]) || !end.After(inc.outage[1].Add(-time.Second)) {
		t.Errorf("window %q does not match the outage %s–%s", window, inc.outage[0].UTC().Format(time.TimeOnly), inc.outage[1].UTC().Format(time.TimeOnly))
	}
	var opened time.Time
	for _, l := range strings.Split(md, "\n") {
		cells := strings.Split(l, "|")
		if len(cells) > 3 && strings.Contains(cells[2], "pg") && strings.Contains(cells[3], "breaker closed → open") {
			opened, _ = time.Parse("2006-01-02 15:04:05", day+strings.TrimSpace(cells[1]))
			break
		}
	}
	if opened.Before(inc.outage[0].Truncate(time.Second)) || opened.After(inc.outage[1]) {
		t.Errorf("the timeline dates pg's opening at %v, outside the outage %s–%s", opened, inc.outage[0].UTC().Format(time.TimeOnly), inc.outage[1].UTC().Format(time.TimeOnly))
	}
	for _, want := range []string{"**Worst minute:**", "failed calls", "## Timeline (UTC)", "breaker closed → open", "next step: "} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	code, html, errOut := run(t, context.Background(), "report", inc.path, "-o", "html")
	if code != ExitOK || !strings.Contains(html, "<svg") || !strings.Contains(html, `class="trouble"`) {
		t.Fatalf("html report: exit %d, %s\n%.500s", code, errOut, html)
	}
	for _, banned := range []string{"<script", " src=", " href=", "url(", "@import"} {
		if strings.Contains(html, banned) {
			t.Errorf("html report carries %q: it must need no external asset", banned)
		}
	}
}

// TestOnceReplayAtWholeSeconds: --at is given in whole seconds, as the
// "outside the recording" message prints the bounds, so the second the
// recording starts in is inside it (the first scrape rarely starts on a
// whole second); a second earlier is not.
func TestOnceReplayAtWholeSeconds(t *testing.T) {
	start := time.Date(2026, 11, 21, 3, 4, 5, 317e6, time.UTC)
	path := filepath.Join(t.TempDir(), "r.rec")
	w, err := record.Create(path, record.Meta{Started: start, Interval: time.Second, Window: time.Minute}, record.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		s := model.Scrape{Target: "http://127.0.0.1:1/metrics", Time: start.Add(time.Duration(i) * time.Second),
			Duration: time.Millisecond, Err: fmt.Errorf("connection refused")}
		if err := w.Write(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		at      string
		outside bool
	}{{"2026-11-21T03:04:05Z", false}, {"2026-11-21T03:04:07Z", false}, {"2026-11-21T03:04:04Z", true}, {"2026-11-21T03:04:08Z", true}} {
		code, _, errOut := run(t, context.Background(), "--once", "--replay", path, "--at", tt.at)
		if got := code == ExitUsage && strings.Contains(errOut, "outside the recording"); got != tt.outside {
			t.Errorf("--at %s: exit %d, %q; want outside=%v", tt.at, code, errOut, tt.outside)
		}
	}
}
