package ui

import (
	"fmt"
	"testing"

	ntspark "github.com/NimbleMarkets/ntcharts/v2/sparkline"

	"resiltop/internal/model"
)

// BenchmarkView measures one frame of the overview at 200×60.
func BenchmarkView(b *testing.B) {
	for _, n := range []int{50, 500} {
		b.Run(fmt.Sprintf("deps=%d", n), func(b *testing.B) {
			m := testModel(b, Options{}, 200, 60, manyDeps(n))
			b.ReportAllocs()
			for b.Loop() {
				_ = m.View()
			}
		})
	}
}

// BenchmarkViewDetail measures one frame of the detail view at 200×60
// (charts are built on Update, so this is the frame cost).
func BenchmarkViewDetail(b *testing.B) {
	m := press(b, testModel(b, Options{}, 200, 60, fixture()), "enter")
	b.ReportAllocs()
	for b.Loop() {
		_ = m.View()
	}
}

// BenchmarkApplySnapshot measures what a new snapshot costs in Update
// (formatting every row, sparklines included) at 200×60.
func BenchmarkApplySnapshot(b *testing.B) {
	for _, n := range []int{50, 500} {
		b.Run(fmt.Sprintf("deps=%d", n), func(b *testing.B) {
			m := testModel(b, Options{}, 200, 60, nil)
			snap := manyDeps(n)
			b.ReportAllocs()
			seq := 0
			for b.Loop() {
				seq++
				m = step(m, snapshotMsg{seq: seq, snap: snap})
			}
		})
	}
}

// BenchmarkApplySnapshotGrouped is BenchmarkApplySnapshot for 500
// dependencies of 50 names on 10 targets with grouping on: what grouping by
// name adds to each snapshot (View only lays out the grouped rows).
func BenchmarkApplySnapshotGrouped(b *testing.B) {
	snap := manyDeps(500)
	snap.Targets = nil
	for t := range 10 {
		snap.Targets = append(snap.Targets, model.TargetHealth{URL: fmt.Sprintf("http://10.0.0.%d:8080/metrics", t), Up: true, LastScrape: t0})
	}
	for i := range snap.Dependencies {
		d := &snap.Dependencies[i]
		d.Target, d.Name = snap.Targets[i%10].URL, fmt.Sprintf("dep-%02d", i/10)
	}
	m := press(b, testModel(b, Options{}, 200, 60, snap), "a")
	if !m.grouped {
		b.Fatal("not grouped")
	}
	b.ReportAllocs()
	seq := 1
	for b.Loop() {
		seq++
		m = step(m, snapshotMsg{seq: seq, snap: snap})
	}
}

// BenchmarkSparkline compares the row sparkline with ntcharts' sparkline
// for one 12-cell row of 60 points: why the row sparkline is hand-rolled.
func BenchmarkSparkline(b *testing.B) {
	hist := fixture().Dependencies[0].History
	vals := make([]model.Value, len(hist))
	floats := make([]float64, len(hist))
	for i, p := range hist {
		vals[i], floats[i] = p.Latency.P99, float64(p.Latency.P99)
	}
	b.Run("row", func(b *testing.B) {
		for b.Loop() {
			_ = sparkline(vals, 12)
		}
	})
	b.Run("ntcharts", func(b *testing.B) {
		for b.Loop() {
			s := ntspark.New(12, 1)
			s.PushAll(floats)
			s.Draw()
			_ = s.View()
		}
	})
}
