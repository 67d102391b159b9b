package model

import (
	"time"

	dto "github.com/prometheus/client_model/go"
)

// Page is one parsed metrics page: its metric families, each name once.
// Families split across the exposition have already been merged by the
// parser, so a profile can look a family up by name.
type Page struct {
	Families []*dto.MetricFamily
	// Skipped counts the series of families the reader skipped because no
	// profile reads them, as Series counts them, so that Series tells the
	// size of the whole page.
	Skipped int
	byName  map[string]*dto.MetricFamily
	release func() // hands the page's memory back to its reader; nil: it has none
}

// OnRelease sets what Release calls: a reader that decodes pages into
// memory of its own uses it to have that memory back.
func (p *Page) OnRelease(f func()) { p.release = f }

// Release says the page is no longer used, so that the reader that
// decoded it may decode later pages into its memory: the page, its
// families and everything reached from them must not be used after it.
// Only the page's one consumer calls it, once it is done (the app, after
// Store.Ingest and recording); a page never released is simply collected.
// A second call does nothing.
func (p *Page) Release() {
	if p == nil || p.release == nil {
		return
	}
	f := p.release
	p.release = nil
	f()
}

// NewPage indexes families by name. When a name repeats, the later family's
// metrics are appended to the first one's.
func NewPage(families []*dto.MetricFamily) *Page {
	p := &Page{byName: make(map[string]*dto.MetricFamily, len(families))}
	for _, f := range families {
		if prev, ok := p.byName[f.GetName()]; ok {
			prev.Metric = append(prev.Metric, f.Metric...)
			continue
		}
		p.byName[f.GetName()] = f
		p.Families = append(p.Families, f)
	}
	return p
}

// Family returns the family with that name, or nil.
func (p *Page) Family(name string) *dto.MetricFamily {
	if p == nil {
		return nil
	}
	return p.byName[name]
}

// Series counts the samples on the page (a histogram or summary counts
// once), skipped families included.
func (p *Page) Series() int {
	if p == nil {
		return 0
	}
	n := p.Skipped
	for _, f := range p.Families {
		n += len(f.Metric)
	}
	return n
}

// Scrape is one attempt to read one target, as a Source reports it to
// Store.Ingest. Exactly one of Page and Err is set.
type Scrape struct {
	Target   string        // the target's URL, its identity everywhere
	Time     time.Time     // when the scrape started, on resiltop's clock
	Duration time.Duration // how long it took
	Bytes    int64         // body size read (after decompression)
	Page     *Page
	// Source marks the scrape of a source that speaks for other targets
	// (the Prometheus server in fleet mode): its page carries no metrics
	// of its own, and it is shown as where the data comes from.
	Source bool
	// Warnings are what the source said about an answer that is still
	// usable (Prometheus's warnings, a partial response); shown in the
	// header, never dropped.
	Warnings []string
	// Err is a classified, human-readable error ("connection refused",
	// "timeout after 800ms", "HTTP 500 Internal Server Error", "body larger
	// than 64 MiB", "parse error: line 3: …").
	Err error
}
