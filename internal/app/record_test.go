package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"resiltop/internal/model"
	"resiltop/internal/profile"
	"resiltop/internal/record"
	"resiltop/internal/scrape/promtest"
	"resiltop/internal/scrape/scrapetest"
)

// TestSinkStopsAtTheLimit: at --record-max the recording stops, says so
// once in the event log and in its header line, and the Store keeps
// ingesting.
func TestSinkStopsAtTheLimit(t *testing.T) {
	var buf bytes.Buffer
	w, err := record.NewWriter(&buf, record.Meta{}, record.Options{Limit: 600})
	if err != nil {
		t.Fatal(err)
	}
	sk := &sink{store: model.NewStore(model.StoreOptions{Profiles: profile.Builtin()}), rec: w}
	t0 := time.Date(2026, 11, 21, 3, 4, 5, 0, time.UTC)
	for i := range 40 {
		sk.ingest(model.Scrape{Target: "http://127.0.0.1:9102/metrics", Time: t0.Add(time.Duration(i) * time.Second),
			Err: errors.New("connection refused: a longer error message so that forty of them exceed the limit")})
	}
	snap := sk.store.Snapshot(t0.Add(time.Minute), time.Minute)
	var notes []string
	for _, e := range snap.Events {
		if strings.Contains(e.Message, "recording stopped") {
			notes = append(notes, e.Message)
		}
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "--record-max") {
		t.Errorf("event log notes %q, want one naming --record-max", notes)
	}
	if got := w.Status(); !strings.HasPrefix(got, "rec stopped at ") {
		t.Errorf("header line %q", got)
	}
	if n := w.Records(); n == 0 || n == 40 || int64(buf.Len()) > 600 {
		t.Errorf("%d records in %d bytes", n, buf.Len())
	}
	if len(snap.Targets) != 1 || !snap.Targets[0].LastScrape.Equal(t0.Add(39*time.Second)) {
		t.Errorf("the Store stopped ingesting: %+v", snap.Targets)
	}
}

// TestRecordFleet: fleet mode records what it ingests (the backfilled
// window and the reading after it), and the recording replays to the same
// rows and breaker states.
func TestRecordFleet(t *testing.T) {
	fake := &promtest.Fake{}
	fake.Set(promtest.Fleet(3, 1), float64(time.Now().Unix()))
	srv := scrapetest.Serve(t, fake)
	path := filepath.Join(t.TempDir(), "fleet.rec")
	code, live, errOut := run(t, context.Background(), "--once", "-o", "json", "--prometheus", srv.URL, "--record", path)
	if code != ExitOK && code != ExitFindings {
		t.Fatalf("fleet --once: exit %d: %s", code, errOut)
	}
	f, err := record.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Len() < 3 || f.Meta().Source != "prometheus" {
		t.Errorf("%d records from %q, want every instance's", f.Len(), f.Meta().Source)
	}
	f.Close()
	code, replayed, errOut := run(t, context.Background(), "--once", "-o", "json", "--replay", path)
	if code != ExitOK && code != ExitFindings {
		t.Fatalf("replay: exit %d: %s", code, errOut)
	}
	rows := func(out string) []string {
		var doc onceOutput
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		var rs []string
		for _, d := range doc.Dependencies {
			rs = append(rs, d.Name+" "+d.Breaker.State)
		}
		slices.Sort(rs)
		return rs
	}
	if l, r := rows(live), rows(replayed); len(l) == 0 || !slices.Equal(l, r) {
		t.Errorf("live rows %v, replayed %v", l, r)
	}
}
