package app

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"resiltop/internal/model"
	"resiltop/internal/profile"
	"resiltop/internal/record"
	"resiltop/internal/scrape"
	"resiltop/internal/scrape/scrapetest"
)

// scalePage is the scale benchmark's page as a target serves it: the 10k
// page's first 17 dependencies (2,040 series, the application's own
// histograms included), protobuf-delimited.
func scalePage(b *testing.B) []byte {
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeProtoDelim))
	for _, f := range scrapetest.Families10k() {
		var ms []*dto.Metric
		for _, m := range f.Metric {
			for _, l := range m.Label {
				v := l.GetValue()
				if (l.GetName() == "dependency" && v < "dep017") || (l.GetName() == "handler" && strings.Split(v, "/")[2] < "dep017") {
					ms = append(ms, m)
				}
			}
		}
		if len(ms) == 0 {
			continue
		}
		f.Metric = ms
		if err := enc.Encode(f); err != nil {
			b.Fatal(err)
		}
	}
	return buf.Bytes()
}

// BenchmarkScrapeRecord is a scrape's work after the HTTP read, parse and
// Ingest of the 2k page, without and with recording it as --record does,
// round the scale benchmark's 100 targets (so the Store holds 1,700
// dependencies and the caches are as cold as there): the ratio is what
// recording adds to a scrape (an upper bound: the HTTP read and gzip of a
// real scrape are not in the baseline).
func BenchmarkScrapeRecord(b *testing.B) {
	body := scalePage(b)
	for _, rec := range []bool{false, true} {
		b.Run(fmt.Sprintf("record=%t", rec), func(b *testing.B) {
			profiles := profile.Builtin()
			sk := &sink{store: model.NewStore(model.StoreOptions{Profiles: profiles})}
			if rec {
				w, err := record.NewWriter(&bytes.Buffer{}, record.Meta{}, record.Options{Limit: 1 << 50, Keep: record.KeepFamilies(profiles)})
				if err != nil {
					b.Fatal(err)
				}
				sk.rec = w
				defer func() { b.ReportMetric(float64(w.Size())/float64(max(1, w.Records())), "bytes/scrape") }()
			}
			targets := make([]string, 100)
			for i := range targets {
				targets[i] = fmt.Sprintf("http://127.0.0.1:%d/metrics", 9100+i)
			}
			now, i := time.Now(), 0
			for b.Loop() {
				page, err := scrape.ParsePage(body, string(expfmt.NewFormat(expfmt.TypeProtoDelim)), 0)
				if err != nil {
					b.Fatal(err)
				}
				if i%len(targets) == 0 {
					now = now.Add(time.Second)
				}
				sk.ingest(model.Scrape{Target: targets[i%len(targets)], Time: now, Duration: time.Millisecond, Page: page})
				i++
			}
		})
	}
}
