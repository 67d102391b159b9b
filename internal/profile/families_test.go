package profile

import (
	"os"
	"reflect"
	"slices"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"resiltop/internal/model"
	"resiltop/internal/scrape/scrapetest"
)

// TestFamiliesCoverWhatProfilesRead cuts every page the project has down to
// one profile's Families and checks that the profile detects and reads the
// same there: a Source that fetches or parses only those families (the
// Prometheus source, the fast page reader) loses nothing.
func TestFamiliesCoverWhatProfilesRead(t *testing.T) {
	// Real exporters' pages shared between worktrees are read too when present.
	files := scrapetest.PageFiles(t, 20, "testdata/conventions/*/*.prom", "../../testdata/*/*.prom",
		"/work/shared/testdata/real/*.prom", "/work/shared/testdata/real/*.txt")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		full, err := convParse(string(b))
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, p := range Builtin() {
			cut := only(full, p.Families())
			if got, want := p.Detect(cut), p.Detect(full); got != want {
				t.Errorf("%s: %s detects %v on its families, %v on the whole page", file, p.Name(), got, want)
				continue
			}
			if got, want := p.Read(cut), p.Read(full); !reflect.DeepEqual(convJSON(got), convJSON(want)) {
				t.Errorf("%s: %s reads differently from its families:\n%s\nwhole page:\n%s", file, p.Name(), convJSON(got), convJSON(want))
			}
		}
	}
}

// only returns the page cut down to the named families.
func only(p *model.Page, names []string) *model.Page {
	var fams []*dto.MetricFamily
	for _, f := range p.Families {
		if slices.Contains(names, f.GetName()) {
			fams = append(fams, f)
		}
	}
	return model.NewPage(fams)
}
