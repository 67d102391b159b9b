package scrape

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// Field numbers of io.prometheus.client messages that the skipping scan reads.
const (
	fieldFamilyName      = 1
	fieldFamilyMetric    = 4
	fieldMetricSummary   = 4
	fieldMetricHistogram = 7
	fieldSummaryQuantile = 3 // also Histogram.bucket
)

// readProto reads a protobuf-delimited page into a's families. Each
// message's name is read from the wire first; an unwanted family is
// skipped without decoding (its series still count towards maxSeries), a
// wanted one is decoded and checked as expfmt's decoder checks it.
func (a *assembler) readProto(body []byte, format expfmt.Format, maxSeries int, wanted map[string]bool) (uint64, error) {
	scheme := model.LegacyValidation
	if format.ToEscapingScheme() == model.NoEscaping {
		scheme = model.UTF8Validation
	}
	var layout uint64
	series := 0
	for off := 0; off < len(body); {
		n, k := binary.Uvarint(body[off:])
		if k <= 0 {
			return 0, protoError(fmt.Errorf("protobuf: bad length prefix at byte %d", off))
		}
		// expfmt decodes with protodelim's MaxSize -1, which allocates the
		// claimed size before reading: a 40-byte hostile page claiming
		// 27 GB would exhaust memory despite the body limit (found by
		// FuzzParsePage).
		if n > uint64(len(body)-off-k) {
			return 0, protoError(fmt.Errorf("protobuf: message at byte %d claims %d bytes, the page has %d left", off, n, len(body)-off-k))
		}
		msg := body[off+k : off+k+int(n)]
		off += k + int(n)
		name, ok := familyName(msg)
		layout = layout*31 + maphash.Bytes(a.seed, name)
		if ok && wanted != nil && !wanted[string(name)] {
			s, m := skippedFamily(msg)
			series += s
			a.skipped += m
			if maxSeries > 0 && series > maxSeries {
				return 0, tooManySeries(maxSeries)
			}
			continue
		}
		f := &dto.MetricFamily{}
		if err := proto.Unmarshal(msg, f); err != nil {
			return 0, protoError(err)
		}
		if err := checkFamily(f, scheme); err != nil {
			return 0, protoError(err)
		}
		series += seriesOf(f)
		if maxSeries > 0 && series > maxSeries {
			return 0, tooManySeries(maxSeries)
		}
		fam, seen := a.byName[f.GetName()]
		if !seen {
			fam = a.family([]byte(f.GetName()), true)
			fam.help, fam.typ = f.Help, f.GetType()
		}
		fam.metrics = append(fam.metrics, f.Metric...)
	}
	return layout, nil
}

func protoError(err error) *Error {
	return &Error{Kind: KindParse, Msg: "parse error: " + err.Error(), Err: err}
}

// checkFamily rejects what expfmt's protobuf decoder rejects: an invalid
// metric name, label name or label value.
func checkFamily(f *dto.MetricFamily, scheme model.ValidationScheme) error {
	if !scheme.IsValidMetricName(f.GetName()) {
		return fmt.Errorf("invalid metric name %q", f.GetName())
	}
	for _, m := range f.GetMetric() {
		for _, l := range m.GetLabel() {
			if !model.LabelValue(l.GetValue()).IsValid() {
				return fmt.Errorf("invalid label value %q", l.GetValue())
			}
			if !scheme.IsValidLabelName(l.GetName()) {
				return fmt.Errorf("invalid label name %q", l.GetName())
			}
		}
	}
	return nil
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

// familyName returns the name field of an encoded MetricFamily (the last
// one, as decoding would); false when the message is malformed.
func familyName(msg []byte) ([]byte, bool) {
	var name []byte
	ok := eachField(msg, func(num protowire.Number, typ protowire.Type, v []byte) {
		if num == fieldFamilyName && typ == protowire.BytesType {
			name = v
		}
	})
	return name, ok
}

// skippedFamily counts the series (as seriesOf) and metrics of an encoded
// MetricFamily without decoding it.
func skippedFamily(msg []byte) (series, metrics int) {
	eachField(msg, func(num protowire.Number, typ protowire.Type, m []byte) {
		if num != fieldFamilyMetric || typ != protowire.BytesType {
			return
		}
		metrics++
		hist, summ := -1, -1
		eachField(m, func(num protowire.Number, typ protowire.Type, v []byte) {
			if typ != protowire.BytesType || (num != fieldMetricHistogram && num != fieldMetricSummary) {
				return
			}
			n := 0
			eachField(v, func(num protowire.Number, typ protowire.Type, _ []byte) {
				if num == fieldSummaryQuantile && typ == protowire.BytesType {
					n++
				}
			})
			if num == fieldMetricHistogram {
				hist = max(hist, 0) + n
			} else {
				summ = max(summ, 0) + n
			}
		})
		switch {
		case hist >= 0:
			series += hist + 3
		case summ >= 0:
			series += summ + 2
		default:
			series++
		}
	})
	return series, metrics
}

// eachField calls fn for every field of an encoded message, with the
// field's bytes for length-delimited fields; false when malformed.
func eachField(msg []byte, fn func(protowire.Number, protowire.Type, []byte)) bool {
	for len(msg) > 0 {
		num, typ, n := protowire.ConsumeTag(msg)
		if n < 0 {
			return false
		}
		msg = msg[n:]
		var v []byte
		if typ == protowire.BytesType {
			v, n = protowire.ConsumeBytes(msg)
		} else {
			n = protowire.ConsumeFieldValue(num, typ, msg)
		}
		if n < 0 {
			return false
		}
		fn(num, typ, v)
		msg = msg[n:]
	}
	return true
}
