package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"resiltop/internal/scrape/scrapetest"
)

// seriesPerDependency is how many Prometheus series one dependency of
// scrapetest's page has (its counters and gauges, and six histograms of
// buckets, _sum and _count): the unit a -series request is rounded up to.
const seriesPerDependency = scrapetest.Samples / scrapetest.Dependencies

// page is the targets' metrics: scrapetest's 10k page cut down to its
// first dependencies, with every counter and histogram advancing between
// two requests of a target so that the store computes real rates and
// quantiles, not zeros.
type page struct {
	mu       sync.Mutex // requests of one target are served one at a time
	families []*dto.MetricFamily
	counters []*float64
	steps    []float64 // per counter, what one request adds
	hists    []*dto.Histogram
	formats  []expfmt.Format // what the page may be served as, preferred first
	gzip     bool
	gz       *gzip.Writer // reused: a fresh writer per request would be ~1 MB of garbage
	series   int
	gen      uint64            // advances so far
	seen     uint64            // the generation served last through ServeHTTP
	rendered map[string][]byte // the current generation by format and gzip
}

// newPage builds a page of at least series Prometheus series (rounded up to
// whole dependencies, at most scrapetest.Samples). Reusing scrapetest keeps
// the shape identical to the 10k page of the ingest benchmarks.
func newPage(series int, text, gz bool) (*page, error) {
	if series < 1 || series > scrapetest.Samples {
		return nil, fmt.Errorf("-series must be between 1 and %d", scrapetest.Samples)
	}
	deps := (series + seriesPerDependency - 1) / seriesPerDependency
	keep := map[string]bool{}
	for d := range deps {
		keep[fmt.Sprintf("dep%03d", d)] = true
	}
	p := &page{gzip: gz, gz: gzip.NewWriter(io.Discard), series: deps * seriesPerDependency, rendered: map[string][]byte{}}
	p.formats = []expfmt.Format{expfmt.FmtProtoDelim, expfmt.FmtText}
	if text {
		p.formats = []expfmt.Format{expfmt.FmtText}
	}
	for _, f := range scrapetest.Families10k() {
		var ms []*dto.Metric
		for _, m := range f.Metric {
			if keep[dependencyOf(m)] {
				ms = append(ms, m)
			}
		}
		if len(ms) == 0 {
			continue
		}
		f.Metric = ms
		p.families = append(p.families, f)
		for _, m := range ms {
			switch {
			case m.Counter != nil:
				p.counters = append(p.counters, m.Counter.Value)
				p.steps = append(p.steps, 1+m.Counter.GetValue()/1000)
			case m.Histogram != nil:
				p.hists = append(p.hists, m.Histogram)
			}
		}
	}
	return p, nil
}

// dependencyOf names the dependency a generated metric belongs to: its
// dependency label, or for the application's own histograms the one in its
// handler path (/api/dep007/h1).
func dependencyOf(m *dto.Metric) string {
	for _, l := range m.Label {
		switch l.GetName() {
		case "dependency":
			return l.GetValue()
		case "handler":
			parts := strings.Split(l.GetValue(), "/")
			if len(parts) > 2 {
				return parts[2]
			}
		}
	}
	return ""
}

// advance moves every counter and histogram on by one request's worth.
// Bucket i gains i+1 observations, so buckets stay cumulative and the
// quantiles stay inside the buckets' range.
func (p *page) advance() {
	for i, v := range p.counters {
		*v += p.steps[i]
	}
	for _, h := range p.hists {
		for i, b := range h.Bucket {
			*b.CumulativeCount += uint64(i + 1)
		}
		n := uint64(len(h.Bucket) + 1)
		*h.SampleCount += n
		*h.SampleSum += 0.2 * float64(n)
	}
}

// ServeHTTP serves the page the way client_golang's promhttp does: the
// format negotiated from Accept, gzip when asked for, advanced on every
// request.
func (p *page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.serve(w, r, &p.seen)
}

// target is one target of the child: a view of the page all targets share,
// so the child encodes a page about once an interval instead of once a
// scrape (1,000 targets would otherwise need a core of their own to
// encode). A target never sees the same values twice: a request from a
// target that has seen the current values advances the page.
type target struct {
	p    *page
	seen uint64 // the page generation this target saw last
}

func (t *target) ServeHTTP(w http.ResponseWriter, r *http.Request) { t.p.serve(w, r, &t.seen) }

// serve writes the page as negotiated, advancing it first if seen is its
// current generation, and records what was served in seen.
func (p *page) serve(w http.ResponseWriter, r *http.Request, seen *uint64) {
	format := expfmt.NegotiateAccept(r.Header, p.formats...)
	gz := p.gzip && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip")
	p.mu.Lock()
	if *seen == p.gen {
		p.advance()
		p.gen++
		clear(p.rendered)
	}
	*seen = p.gen
	key := fmt.Sprintf("%s gzip=%t", format, gz)
	body, ok := p.rendered[key]
	if !ok {
		body = p.render(format, gz)
		p.rendered[key] = body
	}
	p.mu.Unlock()
	w.Header().Set("Content-Type", string(format))
	if gz {
		w.Header().Set("Content-Encoding", "gzip")
	}
	_, _ = w.Write(body) // a client that went away needs no answer
}

// render encodes the page in format, gzipped when gz.
func (p *page) render(format expfmt.Format, gz bool) []byte {
	var buf bytes.Buffer
	var out io.Writer = &buf
	if gz {
		p.gz.Reset(&buf)
		out = p.gz
	}
	enc := expfmt.NewEncoder(out, format)
	for _, f := range p.families {
		if err := enc.Encode(f); err != nil {
			panic(fmt.Sprintf("scale: encoding %s: %v", f.GetName(), err)) // into memory: cannot fail
		}
	}
	if gz {
		_ = p.gz.Close()
	}
	return buf.Bytes()
}

// serveConfig is what the child process is told by its parent.
type serveConfig struct {
	targets, series int
	text, gzip      bool
	life            time.Duration
}

// serve is the child process: it listens on one 127.0.0.1 port per target,
// prints each URL on stdout followed by "ready", and serves until stdin
// closes (the parent is done or died) or life has passed, whichever comes
// first, so it can never outlive the benchmark for long.
func serve(cfg serveConfig, stdin io.Reader, stdout io.Writer) error {
	out := bufio.NewWriter(stdout)
	var servers []*http.Server
	p, err := newPage(cfg.series, cfg.text, cfg.gzip)
	if err != nil {
		return err
	}
	for range cfg.targets {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", &target{p: p})
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		servers = append(servers, srv)
		go func() { _ = srv.Serve(l) }()
		fmt.Fprintf(out, "http://%s/metrics\n", l.Addr())
	}
	fmt.Fprintln(out, "ready")
	if err := out.Flush(); err != nil {
		return err
	}
	closed := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, stdin)
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(cfg.life):
		fmt.Fprintln(os.Stderr, "scale: server child reached its deadline")
	}
	for _, s := range servers {
		_ = s.Close()
	}
	return nil
}
