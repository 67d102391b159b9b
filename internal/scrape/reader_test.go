package scrape

import (
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/protobuf/proto"

	"resiltop/internal/model"
	rmodel "resiltop/internal/model"
	"resiltop/internal/profile"
	"resiltop/internal/report"
	"resiltop/internal/scrape/scrapetest"
)

const utf8CT = textCT + "; escaping=allow-utf-8"

// testPages returns every metrics page in the repository's testdata
// directories, and the real exporters' pages shared between worktrees in
// /work/shared/testdata/real when present, by path.
func testPages(t testing.TB) map[string][]byte {
	t.Helper()
	pages := map[string][]byte{}
	for _, path := range scrapetest.PageFiles(t, 20, "../../testdata/*/*.prom", "../*/testdata/*/*.prom",
		"../*/testdata/*/*/*.prom", "/work/shared/testdata/real/*.prom", "/work/shared/testdata/real/*.txt") {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		pages[path] = b
	}
	return pages
}

// dump writes families canonically, every field that a profile can read,
// floats by their bits so NaN compares equal to NaN.
func dump(fams []*dto.MetricFamily) string {
	var b strings.Builder
	f64 := func(p *float64) string {
		if p == nil {
			return "nil"
		}
		return fmt.Sprintf("%g/%x", *p, math.Float64bits(*p))
	}
	u64 := func(p *uint64) string {
		if p == nil {
			return "nil"
		}
		return fmt.Sprint(*p)
	}
	for _, f := range fams {
		fmt.Fprintf(&b, "family %q %v help=%q\n", f.GetName(), f.GetType(), f.GetHelp())
		for _, m := range f.Metric {
			b.WriteString("  {")
			for _, l := range m.Label {
				fmt.Fprintf(&b, "%q=%q,", l.GetName(), l.GetValue())
			}
			b.WriteString("}")
			if m.TimestampMs != nil {
				fmt.Fprintf(&b, " @%d", m.GetTimestampMs())
			}
			if m.Counter != nil {
				b.WriteString(" counter " + f64(m.Counter.Value))
			}
			if m.Gauge != nil {
				b.WriteString(" gauge " + f64(m.Gauge.Value))
			}
			if m.Untyped != nil {
				b.WriteString(" untyped " + f64(m.Untyped.Value))
			}
			if s := m.Summary; s != nil {
				fmt.Fprintf(&b, " summary count=%s sum=%s", u64(s.SampleCount), f64(s.SampleSum))
				for _, q := range s.Quantile {
					fmt.Fprintf(&b, " q%s=%s", f64(q.Quantile), f64(q.Value))
				}
			}
			if h := m.Histogram; h != nil {
				fmt.Fprintf(&b, " histogram count=%s countf=%s sum=%s", u64(h.SampleCount), f64(h.SampleCountFloat), f64(h.SampleSum))
				for _, bk := range h.Bucket {
					fmt.Fprintf(&b, " le%s=%s/%s", f64(bk.UpperBound), u64(bk.CumulativeCount), f64(bk.CumulativeCountFloat))
				}
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

// only keeps the families named in wanted.
func only(fams []*dto.MetricFamily, wanted map[string]bool) []*dto.MetricFamily {
	return slices.DeleteFunc(slices.Clone(fams), func(f *dto.MetricFamily) bool { return !wanted[f.GetName()] })
}

// pick chooses about a third of the page's families, by a hash of the name
// and salt, so filtered reads skip families before, between and after
// wanted ones.
func pick(fams []*dto.MetricFamily, salt byte) map[string]bool {
	wanted := map[string]bool{}
	for _, f := range fams {
		h := fnv.New32a()
		h.Write([]byte{salt})
		h.Write([]byte(f.GetName()))
		if h.Sum32()%3 == 0 {
			wanted[f.GetName()] = true
		}
	}
	return wanted
}

// protobufOf encodes families as a protobuf-delimited page.
func protobufOf(t testing.TB, fams []*dto.MetricFamily) []byte {
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.FmtProtoDelim)
	for _, f := range fams {
		if err := enc.Encode(f); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// compare reads body in full and filtered and checks both against the
// reference; it returns the reference's families.
func compare(t *testing.T, body []byte, ct string, salt byte) []*dto.MetricFamily {
	t.Helper()
	want, werr := expfmtPage(body, ct)
	got, gerr := ParsePage(body, ct, 0)
	if werr != nil {
		var se *Error
		if gerr == nil || !errors.As(gerr, &se) {
			t.Fatalf("expfmt rejects the page (%v), the reader returned %v", werr, gerr)
		}
		var pe expfmt.ParseError
		if errors.As(werr, &pe) && se.Line == 0 {
			t.Fatalf("error without a line: %v (expfmt: %v)", gerr, werr)
		}
		return nil
	}
	if gerr != nil {
		t.Fatalf("expfmt accepts the page, the reader fails: %v", gerr)
	}
	if w, g := dump(want), dump(got.Families); w != g {
		t.Fatalf("full read differs from expfmt:\n%s", diff(w, g))
	}
	if expfmt.Format(ct).FormatType() == expfmt.TypeProtoDelim {
		// Decoded from the wire by hand: every field must match, exemplars
		// and created timestamps included. Not a family's unit or its own
		// unknown fields: a page's family is assembled from the name, help,
		// type and metrics of every message of that name; nor a label
		// pair's unknown fields: pairs are interned by name and value. No
		// profile reads them (found by the fuzzer).
		canonical := func(f *dto.MetricFamily) *dto.MetricFamily {
			f = proto.CloneOf(f)
			f.Unit = nil
			f.ProtoReflect().SetUnknown(nil)
			for _, m := range f.Metric {
				for _, l := range m.GetLabel() {
					l.ProtoReflect().SetUnknown(nil)
				}
			}
			return f
		}
		for i, f := range want {
			if f, g := canonical(f), canonical(got.Families[i]); !proto.Equal(f, g) {
				t.Fatalf("family %s differs from expfmt's:\n%v\n%v", f.GetName(), f, g)
			}
		}
	}
	wanted := pick(want, salt)
	a := newAssembler()
	// Three times: the second read reuses the tables and interned strings
	// and the first page's arena, released; the third a new arena, the
	// second page being kept.
	for i := range 3 {
		page, _, err := a.read(body, ct, 0, wanted)
		if err != nil {
			t.Fatalf("filtered read fails: %v", err)
		}
		if w, g := dump(only(want, wanted)), dump(page.Families); w != g {
			t.Fatalf("filtered read %d differs from expfmt:\n%s", i+1, diff(w, g))
		}
		if i == 0 {
			page.Release()
		}
	}
	return want
}

// diff shows the first differing line of two dumps.
func diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\nexpfmt: %s\nreader: %s", i+1, wl, gl)
		}
	}
	return "(same)"
}

// TestReaderMatchesExpfmt reads every page in testdata as text (legacy and
// UTF-8 names) and as protobuf, in full and filtered, and compares with
// expfmt.
func TestReaderMatchesExpfmt(t *testing.T) {
	pages := testPages(t)
	pages["Page10k"] = scrapetest.Page10k(expfmt.FmtText)
	for path, body := range pages {
		t.Run(filepath.Base(path), func(t *testing.T) {
			for salt := range byte(3) {
				fams := compare(t, body, textCT, salt)
				if fams == nil {
					t.Fatal("expfmt rejects a testdata page")
				}
				compare(t, body, utf8CT, salt)
				compare(t, protobufOf(t, fams), string(expfmt.FmtProtoDelim), salt)
			}
		})
	}
}

// trickyPages seed the fuzz target and are checked by
// TestTrickyPagesMatchExpfmt.
var trickyPages = []string{
	"# TYPE x counter\nx{a=\"1\",} 1\n# TYPE x counter\nx 2\n",
	"# HELP r4j_state State\n# TYPE r4j_state gauge\nr4j_state{name=\"pg\",state=\"open\",} 1.0\n",
	"# TYPE h histogram\nh_bucket{le=\"+Inf\"} NaN\nh_sum -Inf\nh_count 1\n",
	"# TYPE h histogram\nh_bucket{le=\"0.1\"} 1\nh_bucket{le=\"0.1\"} 2\nh_bucket{le=\"+Inf\"} 3\nh_sum 1.5\nh_count 3\nh_count 4\n",
	"# TYPE h histogram\nh_bucket{le=\"1\",a=\"x\"} 1\nh_bucket{a=\"x\",le=\"+Inf\"} 2.5\nh_count 2.5\n",
	"# TYPE s summary\ns{quantile=\"0.5\"} 1\ns{quantile=\"0.99\"} NaN\ns_sum 3\ns_count 7\n",
	"x 1\n# HELP x a\n# HELP x b\n# TYPE x gauge\n",
	"g{v=\"a\\\\b\\\"c\\nd\"} +Inf 1700000000000\ng{v=\"e\"} -Inf\n",
	"{\"name.with.dots\", label=\"x\"} 1\n{\"name.with.dots\",\"quoted label\"=\"y\"} 2\n",
	"# TYPE \"dotted.name\" counter\n{\"dotted.name\"} 3\n",
	"  a 1\n\n\tb{c=\"d\"}\t2 \t3\nuntyped_total 4\n",
	"split 1\nother 2\nsplit{a=\"b\"} 3\n",
	"# TYPE c counter\nc{a=\"1\",b=\"2\"} 3\nc{b=\"2\",a=\"1\"} 4\n",
	"x 1 2 3\n",
	"x{a=\"1\" 1\n",
	"# TYPE x wibble\n",
	"x 1",
	"x{a=\"\xff\"} 1\n",
	"# TYPE x_count gauge\nx_count 1\n# TYPE x histogram\nx_count 2\nx_bucket{le=\"1\"} 1\n",
	"# TYPE x gauge_histogram\nx_bucket{le=\"1\"} 1\nx_gcount 1\n",
	"x{__name__=\"y\"} 1\n",
	"x{a=\"1\",a=\"2\"} 1\n",
	"x 0x1p3\nx 1_000\n",
	"B+0\n", // a name ends at any byte that cannot continue it
	// Label values longer than simplePair's byte-wise scan (16 bytes):
	// plain, with an escape or a newline past it, unclosed, exactly 16.
	"x{c=\"outbound|8080||svc-001.prod.svc.cluster.local\",d=\"y\"} 1\n",
	"x{c=\"outbound|8080||svc-001\\\"prod\\\\svc\\n\"} 1\n",
	"x{c=\"outbound|8080||svc-001\nprod\"} 1\n",
	"x{c=\"outbound|8080||svc-001.prod} 1\n",
	"x{c=\"0123456789abcdef\"} 1\nx{c=\"0123456789abcdef0\"} 2\n",
}

func TestTrickyPagesMatchExpfmt(t *testing.T) {
	for i, page := range trickyPages {
		for _, ct := range []string{textCT, utf8CT} {
			t.Run(fmt.Sprintf("%d/%s", i, ct), func(t *testing.T) { compare(t, []byte(page), ct, 0) })
		}
	}
}

// FuzzReaderMatchesExpfmt: for every page that expfmt accepts the reader
// returns the same families, in full and filtered to a third of them; for
// every page that expfmt rejects it returns an error, with a line for text.
func FuzzReaderMatchesExpfmt(f *testing.F) {
	for _, p := range trickyPages {
		f.Add([]byte(p), false, byte(0))
		f.Add([]byte(p), true, byte(1))
	}
	f.Add(scrapetest.Page10k(expfmt.FmtText)[:4096], false, byte(2))
	f.Add(scrapetest.Page10k(expfmt.FmtProtoDelim)[:4096], false, byte(3))
	f.Add(clientGolangPage(f), false, byte(7))
	f.Fuzz(func(t *testing.T, body []byte, utf8Names bool, salt byte) {
		ct := textCT
		if utf8Names {
			ct = utf8CT
		}
		if salt%4 == 3 {
			ct = string(expfmt.FmtProtoDelim)
		}
		compare(t, body, ct, salt)
	})
}

// TestReaderKeepsWhatProfilesSee reads every testdata page through a
// Reader for the built-in profiles, the first time in full and then
// filtered, and checks that the Store sees the same as from the whole page:
// same targets (series count included), dependencies, values and findings.
func TestReaderKeepsWhatProfilesSee(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	for path, body := range testPages(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			opts := model.StoreOptions{Profiles: profile.Builtin()}
			whole, filtered := model.NewStore(opts), model.NewStore(opts)
			r := NewReader(opts.Candidates("t"))
			for i := range 3 {
				want, err := ParsePage(body, textCT, 0)
				if err != nil {
					t.Fatal(err)
				}
				got, err := r.Read(body, textCT, 0)
				if err != nil {
					t.Fatal(err)
				}
				if got.Series() != want.Series() {
					t.Errorf("read %d: %d series, the whole page has %d", i, got.Series(), want.Series())
				}
				at := t0.Add(time.Duration(i) * time.Second)
				whole.Ingest(model.Scrape{Target: "t", Time: at, Page: want})
				filtered.Ingest(model.Scrape{Target: "t", Time: at, Page: got})
			}
			var w, g bytes.Buffer
			now := t0.Add(2 * time.Second)
			if err := report.JSON(&w, whole.Snapshot(now, time.Minute)); err != nil {
				t.Fatal(err)
			}
			if err := report.JSON(&g, filtered.Snapshot(now, time.Minute)); err != nil {
				t.Fatal(err)
			}
			if w.String() != g.String() {
				t.Fatalf("filtered pages give another snapshot:\n%s", diff(w.String(), g.String()))
			}
		})
	}
}

// TestReaderFilters checks what a Reader decodes over a target's life: all
// of the first page, then only the families of the profiles present, and
// all again when the page's families change.
func TestReaderFilters(t *testing.T) {
	envoyFamily := "envoy_cluster_upstream_rq"
	native := "# TYPE resilience_calls_total counter\nresilience_calls_total{dependency=\"pg\",outcome=\"success\"} 1\n" +
		"# TYPE app_requests_total counter\napp_requests_total{path=\"/\"} 5\n"
	// Envoy's detection needs a cluster label on the first sample: a page
	// without it does not detect, with it does, same family names.
	noCluster := native + "# TYPE " + envoyFamily + " counter\n" + envoyFamily + "{x=\"y\"} 1\n"
	withCluster := native + "# TYPE " + envoyFamily + " counter\n" + envoyFamily + "{envoy_cluster_name=\"pg\"} 1\n"
	r4j := "# TYPE resilience4j_circuitbreaker_state gauge\nresilience4j_circuitbreaker_state{name=\"pg\",state=\"open\"} 1\n"
	steps := []struct {
		page string
		want []string
	}{
		{native, []string{"app_requests_total", "resilience_calls_total"}},
		{native, []string{"resilience_calls_total"}},
		{noCluster, []string{"app_requests_total", envoyFamily, "resilience_calls_total"}},
		{withCluster, []string{envoyFamily, "resilience_calls_total"}},
		{native + r4j, []string{"app_requests_total", "resilience4j_circuitbreaker_state", "resilience_calls_total"}},
		{native + r4j, []string{"resilience4j_circuitbreaker_state", "resilience_calls_total"}},
	}
	r := NewReader(profile.Builtin())
	for i, s := range steps {
		p, err := r.Read([]byte(s.page), textCT, 0)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range p.Families {
			got = append(got, f.GetName())
		}
		if !slices.Equal(got, s.want) {
			t.Errorf("read %d: families %v, want %v", i, got, s.want)
		}
		if p.Series() != strings.Count(s.page, "\n")-strings.Count(s.page, "#") {
			t.Errorf("read %d: %d series", i, p.Series())
		}
	}
	if !slices.Contains(profile.Builtin()[slices.IndexFunc(profile.Builtin(), func(p model.Profile) bool { return p.Name() == "envoy" })].Families(), envoyFamily) {
		t.Fatalf("%s is not an Envoy family any more; pick another", envoyFamily)
	}
}

// clientGolangPage is a protobuf page as client_golang writes it: created
// timestamps on counters, summaries and histograms, an exemplar, a native
// histogram beside a classic one, a summary, a unit-less gauge vector.
func clientGolangPage(t testing.TB) []byte {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "calls_total", Help: "Calls."}, []string{"dependency"})
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "in_flight"}, []string{"dependency"})
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "latency_seconds", Help: "Latency.", Buckets: []float64{0.1, 1}})
	n := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "native_seconds", NativeHistogramBucketFactor: 1.1})
	s := prometheus.NewSummary(prometheus.SummaryOpts{Name: "size_bytes", Objectives: map[float64]float64{0.5: 0.05, 0.99: 0.001}})
	reg.MustRegister(c, g, h, n, s)
	c.WithLabelValues("pg").Add(3)
	c.WithLabelValues("mail").(prometheus.ExemplarAdder).AddWithExemplar(1, prometheus.Labels{"trace_id": "abc"})
	g.WithLabelValues("pg").Set(math.Inf(1))
	for _, v := range []float64{0.05, 0.5, 2} {
		h.Observe(v)
		n.Observe(v)
		s.Observe(v * 100)
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return protobufOf(t, fams)
}

func TestClientGolangPageMatchesExpfmt(t *testing.T) {
	page := clientGolangPage(t)
	for salt := range byte(3) {
		compare(t, page, string(expfmt.FmtProtoDelim), salt)
	}
}

// TestParseFloatIsStrconv checks parseFloat's own decimal path against
// strconv, sign of zero and last bit included.
func TestParseFloatIsStrconv(t *testing.T) {
	for _, s := range []string{"0", "-0", "1", "-1", "1.", ".5", "-.5", "0.1", "3.3333333333333", "123456789012345",
		"1234567890123456", "999999999999999.9", "0.000000000000001", "1e3", "+5", "NaN", "-Inf", ".", "-", "", "1_0", "0x1p3", "1.2.3", "--1"} {
		got, gerr := parseFloat(s)
		want, werr := strconv.ParseFloat(s, 64)
		if strings.ContainsAny(s, "pP_") {
			werr = errors.New("unsupported")
		}
		if (gerr != nil) != (werr != nil) || (werr == nil && math.Float64bits(got) != math.Float64bits(want) && !math.IsNaN(want)) {
			t.Errorf("%q: %v, %v; strconv %v, %v", s, got, gerr, want, werr)
		}
	}
}

// retainedPerReader returns the heap that each of 10 Readers keeps after
// fill has read pages through it.
func retainedPerReader(fill func(*Reader)) int64 {
	const readers = 10
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	rs := make([]*Reader, readers)
	for i := range rs {
		rs[i] = NewReader(profile.Builtin())
		fill(rs[i])
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(rs)
	return (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / readers
}

// TestReaderKeepsNoPage checks what a target's Reader holds between
// scrapes: its tables, not the last page (a slab chunk kept for the next
// page would keep the whole page alive through its objects' pointers).
func TestReaderKeepsNoPage(t *testing.T) {
	for _, f := range scrapetest.Formats {
		page := scrapetest.Page10k(f)
		per := retainedPerReader(func(r *Reader) {
			for range 3 {
				if _, err := r.Read(page, string(f), 0); err != nil {
					t.Fatal(err)
				}
			}
		})
		// A decoded Page10k is about 1.2 MB; the tables about 0.3 MB.
		if per > 700<<10 {
			t.Errorf("%s: a Reader keeps %d KiB between reads", formatName(f), per>>10)
		}
	}
}

// TestManyLabels reads lines of 20,000 labels, twice the same series, and
// a duplicate label name among many: the reader's label checks and series
// comparison stay linear, where a quadratic scan of a hostile 64 MiB page
// would not end (expfmt's own check is quadratic: this page takes it
// minutes, so it is not compared here).
func TestManyLabels(t *testing.T) {
	var line strings.Builder
	line.WriteString("x{")
	for i := range 20_000 {
		fmt.Fprintf(&line, "l%d=\"v\",", i)
	}
	page := line.String() + "} 1\n" + line.String() + "} 2\n"
	p, err := ParsePage([]byte(page), textCT, 0)
	if err != nil || len(p.Family("x").Metric) != 1 || len(p.Family("x").Metric[0].Label) != 20_000 {
		t.Fatalf("%v; want one series of 20,000 labels", err)
	}
	_, err = ParsePage([]byte(line.String()+"l7=\"w\"} 1\n"), textCT, 0)
	var se *Error
	if !errors.As(err, &se) || se.Line != 1 || !strings.Contains(se.Msg, "duplicate label names") {
		t.Fatalf("duplicate name among many: %v", err)
	}
}

// TestReaderForgetsAFailedPage reads a series explosion cut at the series
// limit, with label values that differ from scrape to scrape: the failed
// page's tables (interned label values, their maps) must not stay with the
// target through its backoff, as they did until the soak found 100
// exploding targets holding some 600 MiB.
func TestReaderForgetsAFailedPage(t *testing.T) {
	reader := 0
	per := retainedPerReader(func(r *Reader) {
		reader++
		for scrape := range 3 {
			var page strings.Builder
			page.WriteString("# TYPE resilience_calls_total counter\n")
			for s := range 30_000 {
				fmt.Fprintf(&page, "resilience_calls_total{dependency=\"d%d-%d-%d\",outcome=\"success\"} 1\n", reader, scrape, s)
			}
			if _, err := r.Read([]byte(page.String()), textCT, 20_000); err == nil {
				t.Fatal("a page over the series limit was accepted")
			}
		}
	})
	if per > 1<<20 {
		t.Errorf("a Reader keeps %d KiB after failed pages", per>>10)
	}
}

// TestSigTableShrinks checks that the table a full page grew does not stay
// that size (and cost that much to clear) once pages are filtered, and
// that it still finds what it holds after shrinking.
func TestSigTableShrinks(t *testing.T) {
	var tab sigTable
	ms := make([]dto.Metric, 20_000)
	for i := range ms {
		tab.put(uint64(i)*0x9e3779b97f4a7c15, &ms[i])
	}
	full := len(tab.keys)
	tab.reset()
	if len(tab.keys) != full {
		t.Fatalf("a table filled by its page shrank from %d to %d slots", full, len(tab.keys))
	}
	for i := range 1000 {
		tab.put(uint64(i)*0x9e3779b97f4a7c15, &ms[i])
	}
	tab.reset()
	if len(tab.keys) > 4096 {
		t.Fatalf("after a page of 1,000 series the table keeps %d slots (full page: %d)", len(tab.keys), full)
	}
	for i := range 1000 {
		tab.put(uint64(i)*0x9e3779b97f4a7c15, &ms[i])
	}
	for i := range 1000 {
		if got := tab.get(uint64(i) * 0x9e3779b97f4a7c15); got != &ms[i] {
			t.Fatalf("entry %d lost after shrinking", i)
		}
	}
	if got := tab.get(12345); got != nil {
		t.Fatal("an absent key was found")
	}
}

// TestReleasedArenasAreReused reads a run of different pages through one
// Reader, releasing each after checking it, as the app does: every page
// reads as expfmt reads it although it is carved from memory a released
// page used, released arenas are used again, and a page that is never
// released stays intact through all the reads after it.
func TestReleasedArenasAreReused(t *testing.T) {
	type page struct {
		name, ct string
		body     []byte
		want     string
	}
	var pages []page
	for name, body := range testPages(t) {
		fams, err := expfmtPage(body, textCT)
		if err != nil {
			continue
		}
		pages = append(pages, page{name, textCT, body, dump(fams)}, page{name + " (protobuf)", string(expfmt.FmtProtoDelim), protobufOf(t, fams), dump(fams)})
	}
	for _, f := range scrapetest.Formats {
		body := scrapetest.Page10k(f)
		fams, err := expfmtPage(body, string(f))
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, page{"Page10k " + formatName(f), string(f), body, dump(fams)})
	}
	slices.SortFunc(pages, func(a, b page) int { return strings.Compare(a.name, b.name) })
	r := newReader(nil)
	kept, err := r.Read(pages[0].body, pages[0].ct, 0)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 3 * len(pages) {
		pg := pages[rng.IntN(len(pages))]
		got, err := r.Read(pg.body, pg.ct, 0)
		if err != nil {
			t.Fatalf("read %d, %s: %v", i, pg.name, err)
		}
		if g := dump(got.Families); g != pg.want {
			t.Fatalf("read %d, %s, from a reused arena, differs from expfmt:\n%s", i, pg.name, diff(pg.want, g))
		}
		got.Release()
		got.Release() // a second release does nothing
	}
	if g := dump(kept.Families); g != pages[0].want {
		t.Fatalf("a page never released was overwritten:\n%s", diff(pages[0].want, g))
	}
	// Released arenas are used again: a page read after a release
	// allocates a fraction of one read after none. (The race detector's
	// sync.Pool drops a quarter of what is put back.)
	body, ct := scrapetest.Page10k(expfmt.FmtProtoDelim), string(expfmt.FmtProtoDelim)
	perRead := func(release bool) uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range 20 {
			p, err := r.Read(body, ct, 0)
			if err != nil {
				t.Fatal(err)
			}
			if release {
				p.Release()
			}
		}
		runtime.ReadMemStats(&after)
		return (after.TotalAlloc - before.TotalAlloc) / 20
	}
	kept20, released := perRead(false), perRead(true)
	if released > kept20/2 {
		t.Errorf("a read after a release allocates %d KiB, one after none %d KiB", released>>10, kept20>>10)
	}
}

// TestReleaseFromAnotherGoroutine releases each page on another goroutine
// while the next is read, as a Source whose emit hands pages on would; run
// with -race.
func TestReleaseFromAnotherGoroutine(t *testing.T) {
	body := scrapetest.Page10k(expfmt.FmtProtoDelim)
	fams, err := expfmtPage(body, string(expfmt.FmtProtoDelim))
	if err != nil {
		t.Fatal(err)
	}
	want := dump(fams)
	r := newReader(nil)
	pages := make(chan *rmodel.Page)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for p := range pages {
			if g := dump(p.Families); g != want {
				t.Errorf("page changed before its release:\n%s", diff(want, g))
			}
			p.Release()
		}
	}()
	for range 20 {
		p, err := r.Read(body, string(expfmt.FmtProtoDelim), 0)
		if err != nil {
			t.Fatal(err)
		}
		pages <- p
	}
	close(pages)
	<-done
}

// TestArenaShrinksAfterAFullRead checks that an arena whose first page
// was read in full (20,000 series) and later pages filtered (1,000) does
// not keep the first page's worth of memory, and that once it fits, its
// chunk is used again rather than a new one allocated.
func TestArenaShrinksAfterAFullRead(t *testing.T) {
	var s slab[dto.Metric]
	page := func(n int) {
		for range n {
			s.get()
		}
		s.done()
		s.reset()
	}
	capacity := func() int {
		n := 0
		for _, c := range s.chunks {
			n += len(c)
		}
		return n
	}
	page(20_000)
	full := capacity()
	page(1_000)
	page(1_000)
	if got := capacity(); got > 2*1_125+minChunk || got >= full/4 {
		t.Errorf("after filtered pages the arena holds %d metrics (after the full page %d)", got, full)
	}
	first := &s.chunks[0][0]
	page(1_000)
	page(900)
	if len(s.chunks) != 1 || &s.chunks[0][0] != first {
		t.Errorf("pages of the same size got new chunks (%d chunks)", len(s.chunks))
	}
}
