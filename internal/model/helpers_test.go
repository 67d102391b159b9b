package model

import (
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
