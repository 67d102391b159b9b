package scrape

import (
	"bytes"
	"errors"
	"hash/maphash"
	"io"
	"slices"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// This file keeps the expfmt-based page decoding resiltop used before its
// own reader, as the reference the differential tests compare with:
// expfmt's decoder plus the old lenient pass (a repeated HELP or TYPE, or a
// TYPE after samples, neutralised) and merging (duplicate series and
// buckets dropped, the first wins). No series cap.

// expfmtPage decodes body as the old ParsePage did.
func expfmtPage(body []byte, contentType string) ([]*dto.MetricFamily, error) {
	format := expfmt.Format(contentType)
	if format.FormatType() == expfmt.TypeProtoDelim {
		if _, _, err := newAssembler().read(body, contentType, 0, map[string]bool{}); err != nil {
			return nil, err // the length-prefix checks, before expfmt allocates
		}
	} else {
		body, _ = prepareText(body)
	}
	dec := expfmt.NewDecoder(bytes.NewReader(body), format)
	m := newMerger()
	for {
		f := new(dto.MetricFamily)
		err := dec.Decode(f)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		m.add(f)
	}
	return m.families(), nil
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

// families returns the merged families sorted by name, so pages compare
// and print the same whatever order the target (or expfmt's map) used.
// Families without a metric are dropped, as expfmt's text parser and the
// reader drop them (its protobuf decoder keeps them; found by the fuzzer).
func (m *merger) families() []*dto.MetricFamily {
	m.order = slices.DeleteFunc(m.order, func(f *dto.MetricFamily) bool { return len(f.Metric) == 0 })
	slices.SortFunc(m.order, func(a, b *dto.MetricFamily) int { return strings.Compare(a.GetName(), b.GetName()) })
	return m.order
}
