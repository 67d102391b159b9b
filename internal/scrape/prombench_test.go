package scrape

import (
	"encoding/json"
	"testing"
	"time"

	pmodel "github.com/prometheus/common/model"

	"resiltop/internal/model"
	"resiltop/internal/profile"
	"resiltop/internal/scrape/promtest"
)

// fleetAnswers are the answers of one refresh of a 1,000-instance fleet
// (promtest.Fleet: 108 series per instance): `up`, then one answer per
// family, typed as the metadata API gives them.
func fleetAnswers() (up []byte, fams []family, bodies [][]byte, series int) {
	fake := &promtest.Fake{}
	fake.Set(promtest.Fleet(1000, 1), 1700000000)
	up = fake.Answer("up")
	for name, typ := range promtest.FleetTypes {
		t, _ := metadataType(typ)
		f := family{name: name, typ: t, known: true}
		fams = append(fams, f)
		bodies = append(bodies, fake.Answer(f.query("")))
	}
	return up, fams, bodies, 1000 * 108
}

// BenchmarkPrometheusAnswer is a fleet-mode refresh of 1,000 instances ×
// 108 series without the network: "pages+ingest" decodes every answer into
// one page per instance and ingests the 1,000 pages into a Store (profiles,
// rates, history); "json" is the baseline, bare encoding/json decoding of
// the same bytes into client_golang's result type (model.Vector), which is
// what its v1 API does before a caller has touched a sample.
func BenchmarkPrometheusAnswer(b *testing.B) {
	up, fams, bodies, n := fleetAnswers()
	size := int64(len(up))
	for _, body := range bodies {
		size += int64(len(body))
	}
	b.Run("pages+ingest", func(b *testing.B) {
		store := model.NewStore(model.StoreOptions{Profiles: profile.Builtin()})
		lf := &labelFilter{groupBy: "instance", strip: map[string]bool{"job": true, "instance": true}}
		at := time.Unix(1700000000, 0)
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			groups := map[string]bool{}
			if _, err := decodeAnswer(up, func(s *series) error {
				groups[s.get("instance")] = true
				return nil
			}); err != nil {
				b.Fatal(err)
			}
			var ps pageSet
			for i := range fams {
				builds := map[string]*famBuild{}
				if _, err := decodeAnswer(bodies[i], lf.collect(&fams[i], builds)); err != nil {
					b.Fatal(err)
				}
				ps.collect(&fams[i], builds)
			}
			at = at.Add(5 * time.Second)
			for g := range groups {
				store.Ingest(model.Scrape{Target: g, Time: at, Page: ps.page(g)})
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/series")
		// The share of one core a refresh every 5 s costs.
		b.ReportMetric(100*float64(b.Elapsed())/float64(b.N)/float64(5*time.Second), "%core@5s")
	})
	b.Run("json", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			for _, body := range append([][]byte{up}, bodies...) {
				var ans struct {
					Status string `json:"status"`
					Data   struct {
						ResultType string        `json:"resultType"`
						Result     pmodel.Vector `json:"result"`
					} `json:"data"`
					Warnings []string `json:"warnings"`
				}
				if err := json.Unmarshal(body, &ans); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/series")
	})
}
