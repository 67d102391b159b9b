package scrape

import (
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"unsafe"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"resiltop/internal/model"
)

// Reader reads one target's pages, decoding only the families its profiles
// can read and skipping the rest without allocating. Pages are read in full
// the first time and whenever the page's layout (the sequence of metric
// names, fingerprinted while skipping) changes; the families wanted after
// that are the Families() of every candidate profile that has at least one
// family on the full page. Not only the profiles that detect: a profile's
// Detect may depend on label values (Envoy's cluster label, a mapping's
// dependency label), so its families are read as long as any of them is
// present, and the Store's detection on a filtered page is the same as on
// the full one. A Reader is not safe for concurrent use; a Scraper owns one.
type Reader struct {
	sets   [][]string      // candidate profiles' families; nil reads every family
	wanted map[string]bool // nil until a full read decided it
	layout uint64          // fingerprint of the page the wanted set was decided on
	asm    *assembler
}

// NewReader returns a Reader for a target that the given profiles may
// read (model.StoreOptions.Candidates); with none it decodes every family.
func NewReader(profiles []model.Profile) *Reader {
	var sets [][]string
	for _, p := range profiles {
		sets = append(sets, p.Families())
	}
	return newReader(sets)
}

func newReader(sets [][]string) *Reader {
	return &Reader{sets: sets, asm: newAssembler()}
}

// Read decodes one page. contentType is the response's raw Content-Type
// (protobuf-delimited, text 0.0.4, or anything else, which is tried as
// text). maxSeries caps the page in Prometheus series, counted like
// Prometheus's sample_limit over the whole page, skipped families
// included; 0 means no cap. Families split across a page are merged,
// repeated HELP/TYPE lines ignored (the first wins), and duplicate series
// and duplicate histogram buckets dropped (the first wins, as Prometheus
// keeps the first sample of a duplicate). Errors are *Error of KindParse
// (with the line for text) or KindTooManySeries. body is not modified, and
// the page does not refer to it. Its consumer releases the page once done
// with it (model.Page.Release), and later pages reuse its memory.
func (r *Reader) Read(body []byte, contentType string, maxSeries int) (*model.Page, error) {
	if r.sets != nil && r.wanted != nil {
		page, layout, err := r.read(body, contentType, maxSeries, r.wanted)
		if err != nil || layout == r.layout {
			return page, err
		}
		page.Release() // nobody saw it: the full read below replaces it
	}
	page, layout, err := r.read(body, contentType, maxSeries, nil)
	if err != nil || r.sets == nil {
		return page, err
	}
	r.wanted, r.layout = wantedOn(page, r.sets), layout
	return page, nil
}

// read reads with the target's tables. A page that fails (a series
// explosion cut at --max-series, garbage) leaves no tables behind: they
// would hold its label values and their maps' capacity through the
// target's backoff, tens of MB per exploding target (found by the soak).
func (r *Reader) read(body []byte, contentType string, maxSeries int, wanted map[string]bool) (*model.Page, uint64, error) {
	page, layout, err := r.asm.read(body, contentType, maxSeries, wanted)
	if err != nil {
		r.asm = newAssembler()
	}
	return page, layout, err
}

// wantedOn returns the families of every set that has a family on page.
func wantedOn(page *model.Page, sets [][]string) map[string]bool {
	wanted := map[string]bool{}
	for _, set := range sets {
		if slices.ContainsFunc(set, func(n string) bool { return page.Family(n) != nil }) {
			for _, n := range set {
				wanted[n] = true
			}
		}
	}
	return wanted
}

// ParsePage decodes every family of one page; see Reader.Read.
func ParsePage(body []byte, contentType string, maxSeries int) (*model.Page, error) {
	page, _, err := newAssembler().read(body, contentType, maxSeries, nil)
	return page, err
}

// pageFamily is a family while its page is read.
type pageFamily struct {
	name    *string
	help    *string
	typ     dto.MetricType
	typed   bool // a TYPE line or a sample fixed the type (expfmt's Type != nil; protobuf's type field)
	wanted  bool // decoded into the page; others are kept only to resolve names
	metrics []*dto.Metric
}

// assembler collects one target's families page by page, reusing its
// tables between pages and carving dto objects from an arena (slabs) that
// the page keeps until it is released.
type assembler struct {
	*slabs                // the arena of the page being read
	sizes     [nSlabs]int // what the last page used, to size a new arena
	in        *interner
	fams      []*pageFamily // this page's, in order of appearance
	spare     []*pageFamily // records to reuse
	byName    map[string]*pageFamily
	seed      maphash.Seed
	widest    int              // most buckets of one histogram on the last page
	text      *textParser      // reused between text pages
	normalize bool             // the page is text: histograms get expfmt's normalisation
	wire      dto.MetricFamily // the protobuf family being decoded
	decoded   []*dto.Metric    // its metrics
	pairs     []*dto.LabelPair // a metric's labels being decoded
	lastPairs [8]linePair      // the last metric's, by position
	skipped   int              // series of skipped families on this page, as model.Page.Series counts them
}

func newAssembler() *assembler {
	return &assembler{in: newInterner(), byName: map[string]*pageFamily{}, seed: maphash.MakeSeed()}
}

// read decodes body, only the wanted families unless wanted is nil, and
// returns the page and the fingerprint of its layout.
func (a *assembler) read(body []byte, contentType string, maxSeries int, wanted map[string]bool) (*model.Page, uint64, error) {
	a.reset()
	a.slabs = a.arena()
	format := expfmt.Format(contentType)
	var (
		layout uint64
		err    error
	)
	a.normalize = format.FormatType() != expfmt.TypeProtoDelim
	if !a.normalize {
		layout, err = a.readProto(body, format, maxSeries, wanted)
	} else {
		layout, err = a.readText(body, contentType, format, maxSeries, wanted)
	}
	var page *model.Page
	if err == nil {
		page = a.page()
	}
	mem := a.slabs
	a.sizes = mem.done()
	if page != nil {
		page.OnRelease(func() { recycle(mem) })
	}
	a.release()
	return page, layout, err
}

// arenas are the arenas of released pages, zeroed, shared by every
// target: pages are released right after they are ingested, so a few
// arenas, warm in the cache, serve all targets. One per target (1,000
// of 150 KB each) was cold whenever its target's page came.
var arenas sync.Pool

// arena returns a released arena, or a new one sized like the last page.
func (a *assembler) arena() *slabs {
	if mem, ok := arenas.Get().(*slabs); ok {
		return mem
	}
	mem := &slabs{}
	mem.resize(a.sizes)
	return mem
}

// recycle takes back the arena of a released page.
func recycle(mem *slabs) {
	mem.reset()
	arenas.Put(mem)
}

// release drops every reference to the page just read, so that between
// scrapes a target keeps only its tables, not a page.
func (a *assembler) release() {
	a.slabs = nil
	for _, f := range a.fams {
		clear(f.metrics)
	}
	clear(a.decoded[:cap(a.decoded)])
	a.lastPairs = [len(a.lastPairs)]linePair{}
	if p := a.text; p != nil {
		p.histograms.reset()
		p.summaries.reset()
		// The body may be a buffer the caller is about to drop.
		p.b, p.tok, p.m, p.recent, p.linePairs = nil, nil, nil, [len(p.recent)]recentName{}, [len(p.linePairs)]linePair{}
	}
}

func (a *assembler) reset() {
	a.in.trim()
	for _, f := range a.fams {
		f.metrics = f.metrics[:0]
		a.spare = append(a.spare, f)
	}
	a.fams = a.fams[:0]
	clear(a.byName)
	a.skipped = 0
}

// family returns the family named name, creating it.
func (a *assembler) family(name []byte, wanted bool) *pageFamily {
	if f, ok := a.byName[string(name)]; ok {
		return f
	}
	var f *pageFamily
	if n := len(a.spare); n > 0 {
		f, a.spare = a.spare[n-1], a.spare[:n-1]
		*f = pageFamily{metrics: f.metrics[:0]}
	} else {
		f = &pageFamily{}
	}
	f.name = a.in.str(name)
	f.wanted = wanted
	a.byName[*f.name] = f
	a.fams = append(a.fams, f)
	return f
}

// typePtrs are the shared *dto.MetricType of every family of a type.
var typePtrs = func() map[dto.MetricType]*dto.MetricType {
	m := map[dto.MetricType]*dto.MetricType{}
	for v := range dto.MetricType_name {
		m[dto.MetricType(v)] = dto.MetricType(v).Enum()
	}
	return m
}()

// page turns the wanted families into the page: empty families dropped,
// duplicate series and buckets dropped (the first wins), sorted by name.
func (a *assembler) page() *model.Page {
	n := 0
	for _, f := range a.fams {
		if f.wanted && len(f.metrics) > 0 {
			n++
		}
	}
	out := make([]*dto.MetricFamily, 0, n)
	sigs := sigTables.Get().(*sigTable)
	defer func() {
		sigs.reset()
		sigTables.Put(sigs)
	}()
	widest := 0
	for i, f := range a.fams {
		if !f.wanted {
			a.skipped += len(f.metrics) // read only to resolve names
			continue
		}
		if len(f.metrics) == 0 {
			continue
		}
		mf := a.families.get()
		mf.Name, mf.Help = f.name, f.help
		if f.typed {
			mf.Type = typePtrs[f.typ]
			if mf.Type == nil {
				// A type this dto does not know (protobuf enums are open):
				// kept, so that no profile reads it as a counter.
				mf.Type = f.typ.Enum()
			}
		}
		ms := a.metricPtrs.carve(0, len(f.metrics))
		for _, m := range f.metrics {
			k := signature(m.Label) ^ mix(uint64(i)+1)
			if prev := sigs.get(k); prev != nil && sameLabels(prev.Label, m.Label) {
				continue
			}
			sigs.put(k, m)
			if a.normalize {
				normalizeHistogram(m.Histogram)
			}
			dedupBuckets(m.Histogram)
			widest = max(widest, len(m.GetHistogram().GetBucket()))
			ms = append(ms, m)
		}
		mf.Metric = ms
		out = append(out, mf)
	}
	slices.SortFunc(out, func(a, b *dto.MetricFamily) int { return strings.Compare(a.GetName(), b.GetName()) })
	a.widest = widest
	p := model.NewPage(out)
	p.Skipped = a.skipped
	return p
}

// dedupBuckets drops buckets whose bound an earlier bucket of the histogram
// has ("le" repeated on a text page, also spelled differently: 1 and 1.0).
// expfmt appends such a line as one more bucket, and equal bounds are
// otherwise merged by adding their counts. A histogram has a dozen buckets
// or so: a quadratic scan, allocation-free while they are distinct, beats
// a map; a hostile page with thousands gets the map.
func dedupBuckets(h *dto.Histogram) {
	if h == nil || len(h.Bucket) < 2 {
		return
	}
	bs := h.Bucket
	if len(bs) > 64 {
		seen := make(map[float64]bool, len(bs))
		h.Bucket = slices.DeleteFunc(slices.Clone(bs), func(b *dto.Bucket) bool {
			dup := seen[b.GetUpperBound()]
			seen[b.GetUpperBound()] = true
			return dup
		})
		return
	}
	for i := 1; i < len(bs); i++ {
		if !slices.ContainsFunc(bs[:i], func(b *dto.Bucket) bool { return b.GetUpperBound() == bs[i].GetUpperBound() }) {
			continue
		}
		kept := slices.Clone(bs[:i])
		for _, b := range bs[i+1:] {
			if !slices.ContainsFunc(kept, func(k *dto.Bucket) bool { return k.GetUpperBound() == b.GetUpperBound() }) {
				kept = append(kept, b)
			}
		}
		h.Bucket = kept
		return
	}
}

// signature hashes a label set independently of label order: the sum of
// each pair's hash. Pairs are interned, so a pair's address stands for its
// name and value. Collisions are resolved by sameLabels.
func signature(labels []*dto.LabelPair) uint64 {
	var sum uint64
	for _, l := range labels {
		sum += pairHash(l)
	}
	return sum
}

// pairHash hashes an interned pair by its address (Go's heap does not move).
func pairHash(l *dto.LabelPair) uint64 { return mix(uint64(uintptr(unsafe.Pointer(l)))) }

// mix is splitmix64's finalizer: addresses differ in few bits, their
// hashes in about half.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// manyLabels is where label sets are compared through a map rather than by
// scanning: real series have a handful of labels.
const manyLabels = 16

// sameLabels compares two label sets regardless of order.
func sameLabels(a, b []*dto.LabelPair) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) > manyLabels {
		// A hostile page's thousands of labels would make the scan quadratic.
		set := make(map[[2]string]bool, len(b))
		for _, y := range b {
			set[[2]string{y.GetName(), y.GetValue()}] = true
		}
		for _, x := range a {
			if !set[[2]string{x.GetName(), x.GetValue()}] {
				return false
			}
		}
		return true
	}
	for _, x := range a {
		if !slices.ContainsFunc(b, func(y *dto.LabelPair) bool {
			return x.GetName() == y.GetName() && x.GetValue() == y.GetValue()
		}) {
			return false
		}
	}
	return true
}
