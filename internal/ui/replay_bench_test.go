package ui

import (
	"context"
	"fmt"
	"iter"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"resiltop/internal/model"
	"resiltop/internal/profile"
	"resiltop/internal/record"
	"resiltop/internal/scrape"
	"resiltop/internal/scrape/scrapetest"
)

// scaleRecording records the scale benchmark's load: targets targets of the
// 10k page's first 17 dependencies (2,040 series) scraped every second for
// ticks seconds, counters and histograms advancing, through the recorder's
// usual family filter.
func scaleRecording(b *testing.B, targets, ticks int) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "scale.rec")
	w, err := record.Create(path, record.Meta{Started: t0, Interval: time.Second},
		record.Options{Keep: record.KeepFamilies(profile.Builtin())})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	var fams []*dto.MetricFamily
	for _, f := range scrapetest.Families10k() {
		var ms []*dto.Metric
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if l.GetName() == "dependency" && l.GetValue() < "dep017" {
					ms = append(ms, m)
				}
			}
		}
		if len(ms) > 0 {
			f.Metric = ms
			fams = append(fams, f)
		}
	}
	page := model.NewPage(fams)
	for tick := range ticks {
		for _, f := range fams {
			for _, m := range f.Metric {
				if c := m.Counter; c != nil {
					*c.Value += 10
				}
				if h := m.Histogram; h != nil {
					for i, bk := range h.Bucket {
						*bk.CumulativeCount += uint64(i + 1)
					}
					*h.SampleCount += uint64(len(h.Bucket) + 1)
				}
			}
		}
		for tg := range targets {
			s := model.Scrape{Target: fmt.Sprintf("http://127.0.0.1:%d/metrics", 20000+tg),
				Time: t0.Add(time.Duration(tick)*time.Second + time.Duration(tg)*time.Millisecond), Duration: 2 * time.Millisecond, Page: page}
			if err := w.Write(s); err != nil {
				b.Fatal(err)
			}
		}
	}
	return path
}

// BenchmarkViewReplay64 replays the scale load (100 targets × 2k series,
// 1,700 dependencies) at ×64 into a Store while the UI takes the newest
// snapshot, applies it and draws a frame, again and again: a frame's View
// must stay under 2 ms (DESIGN.md §8) with the replay ingesting beside it.
// view-ms is View alone; apply-ms the snapshot's Update.
func BenchmarkViewReplay64(b *testing.B) {
	f, err := record.Open(scaleRecording(b, 100, 30))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	opts := model.StoreOptions{Profiles: profile.Builtin()}
	var cur atomic.Pointer[model.Store]
	cur.Store(model.NewStore(opts))
	rp := scrape.NewReplay(f, func(seq iter.Seq[model.Scrape]) {
		st := model.NewStore(opts)
		for s := range seq {
			st.Ingest(s)
		}
		cur.Store(st)
	}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go rp.Run(ctx, func(s model.Scrape) { cur.Load().Ingest(s) })
	for range 6 {
		rp.Faster()
	}
	m := testModel(b, Options{Replay: &fakeReplay{}}, 200, 60, nil)
	var view, apply time.Duration
	seq := 0
	for b.Loop() {
		if rp.Status().Pos == rp.Len() { // played out: start again, as ← held down would
			rp.Step(-rp.Len())
			rp.Play()
		}
		seq++
		t := time.Now()
		m = step(m, snapshotMsg{seq: seq, snap: cur.Load().Snapshot(rp.Now(), time.Minute)})
		v := time.Now()
		if s := m.View(); !strings.Contains(s.Content, "resiltop") {
			b.Fatal("no frame")
		}
		view += time.Since(v)
		apply += v.Sub(t)
	}
	b.ReportMetric(float64(view.Microseconds())/1000/float64(b.N), "view-ms")
	b.ReportMetric(float64(apply.Microseconds())/1000/float64(b.N), "apply-ms")
	b.ReportMetric(float64(rp.Status().Speed), "speed")
}
