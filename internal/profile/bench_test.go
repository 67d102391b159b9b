package profile

import (
	"bytes"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	rmodel "resiltop/internal/model"
	"resiltop/internal/scrape/scrapetest"
)

// BenchmarkReadNative is the native profile alone on a decoded page: the
// part of ingest that is resiltop's own work.
func BenchmarkReadNative(b *testing.B) {
	page := rmodel.NewPage(scrapetest.Families10k())
	b.ReportAllocs()
	for b.Loop() {
		if len(native{}.Read(page)) != scrapetest.Dependencies {
			b.Fatal("wrong dependency count")
		}
	}
}

// BenchmarkReadEnvoy is the Envoy profile alone on the wanted families of
// the Envoy-like page (what the reader hands it): 1,000 series, 200 clusters.
func BenchmarkReadEnvoy(b *testing.B) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(scrapetest.EnvoyLikePage()))
	if err != nil {
		b.Fatal(err)
	}
	var wanted []*dto.MetricFamily
	for _, name := range envoyFamilies {
		if f := fams[name]; f != nil {
			wanted = append(wanted, f)
		}
	}
	page := rmodel.NewPage(wanted)
	b.ReportAllocs()
	for b.Loop() {
		if len(envoy{}.Read(page)) != scrapetest.EnvoyClusters {
			b.Fatal("wrong cluster count")
		}
	}
}
