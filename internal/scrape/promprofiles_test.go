package scrape

import (
	"bytes"
	"context"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"resiltop/internal/model"
	"resiltop/internal/profile"
	"resiltop/internal/report"
	"resiltop/internal/scrape/promtest"
	"resiltop/internal/scrape/scrapetest"
)

// TestEveryProfileThroughPrometheus stores every page the project has the
// way Prometheus stores a scrape (histograms as _bucket/_sum/_count series,
// summaries as quantiles, job and instance added), reads it back through
// the Prometheus source, and checks that the Store sees exactly what it
// sees on the page itself: every profile works in fleet mode. It does so
// with the metadata API's types, and without them (types derived).
func TestEveryProfileThroughPrometheus(t *testing.T) {
	files := scrapetest.PageFiles(t, 20, "../profile/testdata/conventions/*/*.prom", "../../testdata/*/*.prom")
	at := time.Unix(1700000000, 0)
	for _, file := range files {
		body, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		page, err := ParsePage(body, "text/plain; version=0.0.4", DefaultMaxSeries)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		want := readJSON(t, model.Scrape{Target: "x", Time: at, Page: page})
		series, types := asStored(page, "x")
		for _, withTypes := range []bool{true, false} {
			if !withTypes && strings.Contains(file, "/envoy/") {
				// Envoy's gauges and counters share name shapes; the
				// profile reads its circuit_breakers_* gauges only when
				// typed. Prometheus's metadata types them; without it
				// (see docs/CONVENTIONS-SUPPORTED.md) they stay unknown.
				continue
			}
			fake := &promtest.Fake{}
			if withTypes {
				fake.Types = types
			}
			fake.Set(series, float64(at.Unix()))
			src := newFakeSource(t, fake, PromConfig{})
			got := byTarget(src.ScrapeAll(context.Background()))["x"]
			if got.Err != nil {
				t.Fatalf("%s: %v", file, got.Err)
			}
			got.Time = at
			if g := readJSON(t, got); g != want {
				t.Errorf("%s (metadata %v): read through Prometheus:\n%s\nfrom the page:\n%s", file, withTypes, g, want)
			}
		}
	}
}

// readJSON ingests one scrape and returns the --once JSON of what the Store
// made of it.
func readJSON(t *testing.T, sc model.Scrape) string {
	t.Helper()
	store := model.NewStore(model.StoreOptions{Profiles: profile.Builtin()})
	store.Ingest(sc)
	var b bytes.Buffer
	snap := store.Snapshot(sc.Time, time.Minute)
	snap.Targets = nil // scrape duration and size differ by design
	if err := report.JSON(&b, snap); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// asStored returns a page's series as Prometheus stores them, with job and
// instance, and the page's types as the metadata API gives them.
func asStored(p *model.Page, instance string) ([]promtest.Series, map[string]string) {
	out := []promtest.Series{{Labels: map[string]string{"__name__": "up", "job": "j", "instance": instance}, Value: 1}}
	types := map[string]string{}
	add := func(name string, m *dto.Metric, v float64, kv ...string) {
		l := map[string]string{"__name__": name, "job": "j", "instance": instance}
		for _, lp := range m.GetLabel() {
			l[lp.GetName()] = lp.GetValue()
		}
		for i := 0; i+1 < len(kv); i += 2 {
			l[kv[i]] = kv[i+1]
		}
		out = append(out, promtest.Series{Labels: l, Value: v})
	}
	for _, f := range p.Families {
		name := f.GetName()
		types[name] = strings.ToLower(f.GetType().String())
		for _, m := range f.GetMetric() {
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				add(name, m, m.GetCounter().GetValue())
			case dto.MetricType_GAUGE:
				add(name, m, m.GetGauge().GetValue())
			case dto.MetricType_UNTYPED:
				add(name, m, m.GetUntyped().GetValue())
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				inf := false
				for _, b := range h.GetBucket() {
					inf = inf || math.IsInf(b.GetUpperBound(), 1)
					add(name+"_bucket", m, float64(b.GetCumulativeCount()), "le", formatBound(b.GetUpperBound()))
				}
				if !inf {
					add(name+"_bucket", m, float64(h.GetSampleCount()), "le", "+Inf")
				}
				add(name+"_sum", m, h.GetSampleSum())
				add(name+"_count", m, float64(h.GetSampleCount()))
			case dto.MetricType_SUMMARY:
				s := m.GetSummary()
				for _, q := range s.GetQuantile() {
					add(name, m, q.GetValue(), "quantile", formatBound(q.GetQuantile()))
				}
				add(name+"_sum", m, s.GetSampleSum())
				add(name+"_count", m, float64(s.GetSampleCount()))
			}
		}
	}
	return out, types
}

func formatBound(v float64) string {
	if math.IsInf(v, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
