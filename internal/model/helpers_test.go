package model

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// parsePage parses a text exposition the way the scrape package does.
func parsePage(t testing.TB, text string) *Page {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return pageOf(fams)
}

// t0 is the clock of every test scrape.
var t0 = time.Date(2025, 1, 2, 3, 4, 0, 0, time.UTC)

// at is t0 plus seconds.
func at(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }

// pageOf turns a parser's map into a Page in a stable order.
func pageOf(fams map[string]*dto.MetricFamily) *Page {
	names := make([]string, 0, len(fams))
	for n := range fams {
		names = append(names, n)
	}
	sort.Strings(names)
	list := make([]*dto.MetricFamily, 0, len(names))
	for _, n := range names {
		list = append(list, fams[n])
	}
	return NewPage(list)
}

// BuiltinProfiles are profile.Builtin(), set by profiles_test.go (package
// model_test): package profile imports model, so model's own tests cannot
// import it, and they read pages with the real profiles all the same.
var BuiltinProfiles []Profile

// newStore is NewStore reading pages with the built-in profiles unless o
// names its own.
func newStore(o StoreOptions) *Store {
	if o.Profiles == nil {
		o.Profiles = BuiltinProfiles
	}
	return NewStore(o)
}

// builtinAnd returns the built-in profiles followed by ps.
func builtinAnd(ps ...Profile) []Profile { return append(slices.Clone(BuiltinProfiles), ps...) }

// conventionPage reads a page of package profile's testdata/conventions.
func conventionPage(t testing.TB, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "profile", "testdata", "conventions", rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// nativeProfile is resiltop's own profile among BuiltinProfiles.
func nativeProfile() Profile {
	for _, p := range BuiltinProfiles {
		if p.Name() == "resiltop" {
			return p
		}
	}
	panic("no resiltop profile")
}
