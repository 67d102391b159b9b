package scrape

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"mime"
	"slices"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"resiltop/internal/model"
)

// ParsePage decodes one metrics page. contentType is the response's raw
// Content-Type (protobuf-delimited, text 0.0.4, or anything else, which is
// tried as text). maxSeries caps the page in Prometheus series — one per
// sample line, so a histogram counts each bucket plus _sum and _count; 0
// means no cap. Families split across a text page are merged, repeated
// HELP/TYPE lines ignored (the first wins), and duplicate series and
// duplicate histogram buckets dropped (the first wins, as Prometheus keeps
// the first sample of a duplicate). Errors
// are *Error of KindParse or KindTooManySeries. body is not modified.
func ParsePage(body []byte, contentType string, maxSeries int) (*model.Page, error) {
	format := expfmt.Format(contentType)
	proto := format.FormatType() == expfmt.TypeProtoDelim
	if proto {
		if err := checkDelimited(body); err != nil {
			return nil, &Error{Kind: KindParse, Msg: "parse error: " + err.Error(), Err: err}
		}
	} else {
		var samples int
		body, samples = prepareText(body)
		if maxSeries > 0 && samples > maxSeries {
			return nil, tooManySeries(maxSeries)
		}
	}
	dec := expfmt.NewDecoder(bytes.NewReader(body), format)
	m := newMerger()
	series := 0
	for {
		f := new(dto.MetricFamily)
		err := dec.Decode(f)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, parseError(err, contentType)
		}
		series += seriesOf(f)
		if maxSeries > 0 && series > maxSeries {
			return nil, tooManySeries(maxSeries)
		}
		m.add(f)
	}
	return model.NewPage(m.families()), nil
}

// checkDelimited walks the length prefixes of a protobuf-delimited page and
// rejects one that claims more bytes than the page has left. expfmt decodes
// with protodelim's MaxSize -1, which allocates the claimed size before
// reading: a 40-byte hostile page claiming 27 GB would exhaust memory
// despite the body limit (found by FuzzParsePage).
func checkDelimited(body []byte) error {
	for off := 0; off < len(body); {
		n, k := binary.Uvarint(body[off:])
		if k <= 0 {
			return fmt.Errorf("protobuf: bad length prefix at byte %d", off)
		}
		off += k
		if n > uint64(len(body)-off) {
			return fmt.Errorf("protobuf: message at byte %d claims %d bytes, the page has %d left", off-k, n, len(body)-off)
		}
		off += int(n)
	}
	return nil
}

func tooManySeries(limit int) *Error {
	return &Error{Kind: KindTooManySeries, Msg: fmt.Sprintf("more than %d series (raise --max-series)", limit)}
}

// parseError words a decoder error, naming the line for text and the
// content type when the target sent something that is not a metrics format.
func parseError(err error, contentType string) *Error {
	e := &Error{Kind: KindParse, Err: err}
	var pe expfmt.ParseError
	if errors.As(err, &pe) {
		e.Line = pe.Line
		e.Msg = fmt.Sprintf("parse error: line %d: %s", pe.Line, pe.Msg)
	} else {
		e.Msg = "parse error: " + err.Error()
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt != "" && mt != "text/plain" && mt != expfmt.ProtoType && mt != expfmt.OpenMetricsType {
		e.Msg += fmt.Sprintf(" (the target sent %s, not a metrics page)", mt)
	}
	return e
}

// seriesOf counts a family's Prometheus series the way Prometheus's
// sample_limit does.
func seriesOf(f *dto.MetricFamily) int {
	n := 0
	for _, m := range f.Metric {
		switch {
		case m.Histogram != nil:
			n += len(m.Histogram.Bucket) + 3 // buckets, +Inf, _sum, _count
		case m.Summary != nil:
			n += len(m.Summary.Quantile) + 2
		default:
			n++
		}
	}
	return n
}

// prepareText makes a text page acceptable to expfmt's parser and counts its
// sample lines. expfmt already merges a family whose samples are split across
// the page, but rejects a second HELP or TYPE line for a name, or a TYPE line
// after the name's samples; pages assembled from several registries have
// both. Those lines are turned into plain comments so the first one wins and
// line numbers in errors stay right. The input is copied before the first
// change and never modified. Hand-rolled because expfmt has no lenient mode.
func prepareText(body []byte) ([]byte, int) {
	var (
		out     = body
		copied  bool
		helped  = map[string]bool{}
		typed   = map[string]bool{}
		sampled = map[string]bool{}
		last    []byte // name of the previous sample line, to skip map work on runs
		samples int
	)
	for pos := 0; pos < len(body); {
		end := bytes.IndexByte(body[pos:], '\n')
		if end < 0 {
			end = len(body)
		} else {
			end += pos
		}
		line := body[pos:end]
		start := pos
		pos = end + 1

		trimmed := bytes.TrimLeft(line, " \t")
		if len(trimmed) == 0 {
			continue
		}
		if trimmed[0] != '#' {
			samples++
			name := sampleName(trimmed)
			if !bytes.Equal(name, last) {
				last = name
				sampled[string(name)] = true
			}
			continue
		}
		keyword, name := commentName(trimmed[1:])
		var drop bool
		switch keyword {
		case "HELP":
			drop = helped[name]
			helped[name] = true
		case "TYPE":
			drop = typed[name] || sampled[name]
			typed[name] = true
		default:
			continue
		}
		if !drop {
			continue
		}
		if !copied {
			out = slices.Clone(body)
			copied = true
		}
		// "# HELP x" becomes "# xELP x": a comment the parser skips.
		k := start + (len(line) - len(trimmed)) + bytes.Index(trimmed, []byte(keyword))
		out[k] = 'x'
	}
	return out, samples
}

// sampleName returns the metric name at the start of a sample line: up to
// '{' or a blank. A name quoted inside the braces (UTF-8 names) yields "".
func sampleName(line []byte) []byte {
	i := bytes.IndexAny(line, "{ \t")
	if i < 0 {
		return line
	}
	return line[:i]
}

// commentName splits the text after '#' into keyword and metric name.
func commentName(rest []byte) (keyword, name string) {
	fields := strings.Fields(string(rest[:min(len(rest), 512)]))
	if len(fields) < 2 {
		return "", ""
	}
	return fields[0], fields[1]
}

// merger collects families in order, merges families that repeat a name
// (protobuf pages may split them too), and drops duplicate series.
type merger struct {
	order  []*dto.MetricFamily
	byName map[string]*familySeen
	seed   maphash.Seed
}

type familySeen struct {
	f    *dto.MetricFamily
	sigs map[uint64]*dto.Metric
}

func newMerger() *merger {
	return &merger{byName: map[string]*familySeen{}, seed: maphash.MakeSeed()}
}

func (m *merger) add(f *dto.MetricFamily) {
	fs, ok := m.byName[f.GetName()]
	if !ok {
		metrics := f.Metric
		f.Metric = make([]*dto.Metric, 0, len(metrics))
		fs = &familySeen{f: f, sigs: make(map[uint64]*dto.Metric, len(metrics))}
		m.byName[f.GetName()] = fs
		m.order = append(m.order, f)
		f = &dto.MetricFamily{Metric: metrics}
	}
	for _, metric := range f.Metric {
		if metric == nil {
			continue
		}
		sig := m.signature(metric.Label)
		if prev, dup := fs.sigs[sig]; dup && sameLabels(prev.Label, metric.Label) {
			continue
		}
		fs.sigs[sig] = metric
		dedupBuckets(metric.Histogram)
		fs.f.Metric = append(fs.f.Metric, metric)
	}
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
// each pair's hash. Collisions are resolved by sameLabels.
func (m *merger) signature(labels []*dto.LabelPair) uint64 {
	var sum uint64
	for _, l := range labels {
		// Multiplying the value's hash by an odd constant binds it to its
		// name, so {a="x",b="y"} and {a="y",b="x"} differ.
		sum += maphash.String(m.seed, l.GetName()) ^ maphash.String(m.seed, l.GetValue())*0x9e3779b97f4a7c15
	}
	return sum
}

// sameLabels compares two label sets regardless of order.
func sameLabels(a, b []*dto.LabelPair) bool {
	if len(a) != len(b) {
		return false
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

// families returns the merged families sorted by name, so pages compare
// and print the same whatever order the target (or expfmt's map) used.
func (m *merger) families() []*dto.MetricFamily {
	slices.SortFunc(m.order, func(a, b *dto.MetricFamily) int { return strings.Compare(a.GetName(), b.GetName()) })
	return m.order
}
