package app

import (
	"context"
	"slices"
	"strings"
	"testing"

	"resiltop/internal/profile"
	"resiltop/internal/scrape"
	"resiltop/internal/scrape/promtest"
	"resiltop/internal/scrape/scrapetest"
)

// TestAdminFor: a fleet row's admin URL is --admin-template over its
// target labels; without a template, or with a label the row lacks, the
// user is told what to do.
func TestAdminFor(t *testing.T) {
	fake := &promtest.Fake{}
	fake.Set(promtest.Fleet(1, 1), 1700000000)
	srv := scrapetest.Serve(t, fake)
	src, err := scrape.NewProm(scrape.PromConfig{URL: srv.URL, Families: families(profile.Builtin())})
	if err != nil {
		t.Fatal(err)
	}
	src.ScrapeAll(context.Background())
	const row = "10.0.0.0:8080"
	for _, c := range []struct{ tmpl, target, want, err string }{
		{"http://{{.instance}}/actuator", row, "http://10.0.0.0:8080/actuator", ""},
		{"https://{{.job}}.svc/{{.instance}}", row, "https://orders.svc/10.0.0.0:8080", ""},
		{"", row, "", "pass --admin-template 'http://{{.instance}}/actuator'"},
		{"http://{{.pod}}/actuator", row, "", `map has no entry for key "pod"`},
		{"http://{{.instance}}/actuator", "10.9.9.9:1", "", "no target labels of 10.9.9.9:1"},
	} {
		got, err := adminFor(c.tmpl, "instance", src)(c.target)
		if got != c.want || (c.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%q for %s: %q, %v; want %q, %q", c.tmpl, c.target, got, err, c.want, c.err)
		}
	}
	if got := inUse(profile.Builtin(), []string{"spring", "otel"}); len(got) != 2 || got[0].Name() != "otel" || got[1].Name() != "spring" {
		t.Errorf("--profile otel,spring keeps %v", got)
	}
	if got := inUse(profile.Builtin(), nil); len(got) != len(profile.Builtin()) {
		t.Errorf("without --profile every profile is in use: %d", len(got))
	}
	fams := families(append(profile.Builtin(), profile.Builtin()...))
	if !slices.IsSorted(fams) || len(slices.Compact(slices.Clone(fams))) != len(fams) || !slices.Contains(fams, "resilience_calls_total") {
		t.Errorf("families: sorted, each once, every profile's: %v", fams)
	}
}
