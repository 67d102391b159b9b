package app

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"resiltop/internal/model"
	"resiltop/internal/profile"
	"resiltop/internal/record"
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
