package scrape

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math"
	"unicode/utf8"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Field numbers of the io.prometheus.client messages read from the wire.
const (
	fieldFamilyName      = 1
	fieldFamilyHelp      = 2
	fieldFamilyType      = 3
	fieldFamilyMetric    = 4
	fieldMetricLabel     = 1
	fieldMetricGauge     = 2
	fieldMetricCounter   = 3
	fieldMetricSummary   = 4
	fieldMetricUntyped   = 5
	fieldMetricTimestamp = 6
	fieldMetricHistogram = 7
	fieldSummaryQuantile = 3 // also Histogram.bucket
	fieldLabelName       = 1
	fieldLabelValue      = 2
)

// decodeFamily decodes one wanted family into a's families and returns its
// series. The usual messages are decoded from the wire into slabs, label
// pairs interned by their bytes; a family with anything else (exemplars,
// native histograms, unknown fields, a repeated
// singular field, malformed wire) is decoded by proto.Unmarshal, which
// gives the exact semantics or the error. Either way the family is then
// checked as expfmt's decoder checks it.
func (a *assembler) decodeFamily(msg []byte, scheme model.ValidationScheme) (int, error) {
	mark := len(a.decoded)
	f, ok := a.wireFamily(msg, scheme)
	if !ok {
		a.decoded = a.decoded[:mark]
		f = &dto.MetricFamily{}
		if err := proto.Unmarshal(msg, f); err != nil {
			return 0, err
		}
		if err := checkFamily(f, scheme); err != nil {
			return 0, err
		}
		for _, m := range f.Metric {
			for i, l := range m.Label {
				if l.Name != nil && l.Value != nil {
					m.Label[i] = a.in.pair([]byte(*l.Name), []byte(*l.Value)) // interned, as signature needs
				}
			}
		}
	} else if !scheme.IsValidMetricName(f.GetName()) {
		return 0, fmt.Errorf("invalid metric name %q", f.GetName())
	}
	fam, seen := a.byName[f.GetName()]
	if !seen {
		fam = a.family([]byte(f.GetName()), true)
		fam.help, fam.typ, fam.typed = f.Help, f.GetType(), f.Type != nil
	}
	fam.metrics = append(fam.metrics, f.Metric...)
	a.decoded = a.decoded[:mark]
	return seriesOf(f), nil
}

// wireFamily decodes the usual MetricFamily from the wire; false when the
// message holds anything else or a label fails expfmt's checks (then
// proto.Unmarshal and checkFamily decide, and word the error).
func (a *assembler) wireFamily(msg []byte, scheme model.ValidationScheme) (*dto.MetricFamily, bool) {
	f := &a.wire
	*f = dto.MetricFamily{}
	ok := true
	metrics := len(a.decoded)
	all := eachField(msg, func(num protowire.Number, typ protowire.Type, v []byte) {
		switch {
		case !ok:
		case num == fieldFamilyName && typ == protowire.BytesType:
			f.Name = a.in.str(v)
		case num == fieldFamilyHelp && typ == protowire.BytesType:
			f.Help = a.in.str(v)
		case num == fieldFamilyType:
			t, good := varint(typ, v)
			_, known := dto.MetricType_name[int32(t)]
			ok = good && known && t <= math.MaxInt32
			f.Type = typePtrs[dto.MetricType(t)]
		case num == fieldFamilyMetric && typ == protowire.BytesType:
			var m *dto.Metric
			if m, ok = a.wireMetric(v, scheme); ok {
				a.decoded = append(a.decoded, m)
			}
		default:
			ok = false
		}
	})
	if !all || !ok {
		return nil, false
	}
	f.Metric = a.decoded[metrics:]
	return f, true
}

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
		fam, err := a.decodeFamily(msg, scheme)
		if err != nil {
			return 0, protoError(err)
		}
		series += fam
		if maxSeries > 0 && series > maxSeries {
			return 0, tooManySeries(maxSeries)
		}
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

// eachField calls fn for every field of an encoded message with the
// field's payload for length-delimited fields, its encoded value for the
// others; false when malformed.
func eachField(msg []byte, fn func(protowire.Number, protowire.Type, []byte)) bool {
	for len(msg) > 0 {
		var (
			num protowire.Number
			typ protowire.Type
			n   int
		)
		// Metric messages are small fields of small numbers: one-byte tags
		// and lengths, decoded here rather than through calls (a fifth of
		// the reader's time at 1,000 targets was these calls).
		if c := msg[0]; c < 0x80 && c>>3 != 0 {
			num, typ, n = protowire.Number(c>>3), protowire.Type(c&7), 1
		} else if num, typ, n = protowire.ConsumeTag(msg); n < 0 {
			return false
		}
		msg = msg[n:]
		var v []byte
		if typ == protowire.BytesType && len(msg) > 0 && msg[0] < 0x80 {
			if l := int(msg[0]); l < len(msg) {
				v, n = msg[1:1+l], 1+l
			} else {
				n = -1
			}
		} else if typ == protowire.BytesType {
			v, n = protowire.ConsumeBytes(msg)
		} else {
			n = protowire.ConsumeFieldValue(num, typ, msg)
			if n >= 0 {
				v = msg[:n]
			}
		}
		if n < 0 {
			return false
		}
		fn(num, typ, v)
		msg = msg[n:]
	}
	return true
}

// varint and double decode a field's encoded value; ok is false when the
// wire type is not the field's.
func varint(typ protowire.Type, v []byte) (uint64, bool) {
	x, n := protowire.ConsumeVarint(v)
	return x, typ == protowire.VarintType && n > 0
}

func double(typ protowire.Type, v []byte) (float64, bool) {
	x, n := protowire.ConsumeFixed64(v)
	return math.Float64frombits(x), typ == protowire.Fixed64Type && n > 0
}

// wireMetric decodes a Metric of labels, one value, a timestamp.
func (a *assembler) wireMetric(msg []byte, scheme model.ValidationScheme) (*dto.Metric, bool) {
	m := a.metrics.get()
	labels := a.pairs[:0]
	ok := true
	ok = eachField(msg, func(num protowire.Number, typ protowire.Type, v []byte) {
		if !ok {
			return
		}
		bytesField := typ == protowire.BytesType
		switch {
		case num == fieldMetricLabel && bytesField:
			var pair *dto.LabelPair
			// Consecutive metrics mostly repeat their labels position by position.
			if k := len(labels); k < len(a.lastPairs) && bytes.Equal(a.lastPairs[k].key, v) {
				pair = a.lastPairs[k].pair
			} else if pair, ok = a.wirePair(v, scheme); ok && k < len(a.lastPairs) {
				a.lastPairs[k] = linePair{key: v, pair: pair}
			}
			labels = append(labels, pair)
		case num == fieldMetricGauge && bytesField && m.Gauge == nil:
			m.Gauge = a.gauges.get()
			m.Gauge.Value, ok = a.wireValue(v)
		case num == fieldMetricCounter && bytesField && m.Counter == nil:
			m.Counter = a.counters.get()
			ok = eachField(v, func(num protowire.Number, typ protowire.Type, v []byte) {
				switch {
				case !ok:
				case num == 1:
					x, good := double(typ, v)
					m.Counter.Value, ok = a.float(x), good
				case num == 3:
					ok = a.created(typ, v, &m.Counter.CreatedTimestamp)
				default:
					ok = false
				}
			}) && ok
		case num == fieldMetricUntyped && bytesField && m.Untyped == nil:
			m.Untyped = a.untyped.get()
			m.Untyped.Value, ok = a.wireValue(v)
		case num == fieldMetricSummary && bytesField && m.Summary == nil:
			m.Summary, ok = a.wireSummary(v)
		case num == fieldMetricHistogram && bytesField && m.Histogram == nil:
			m.Histogram, ok = a.wireHistogram(v)
		case num == fieldMetricTimestamp:
			var ts uint64
			ts, ok = varint(typ, v)
			t := int64(ts)
			m.TimestampMs = &t
		default:
			ok = false
		}
	}) && ok
	a.pairs = labels[:0]
	if !ok {
		return nil, false
	}
	if len(labels) > 0 {
		m.Label = a.pairPtrs.carve(len(labels), len(labels))
		copy(m.Label, labels)
	}
	return m, true
}

// wireValue decodes a Gauge's or Untyped's value: field 1 and nothing else.
func (a *assembler) wireValue(msg []byte) (*float64, bool) {
	var value *float64
	ok := true
	ok = eachField(msg, func(num protowire.Number, typ protowire.Type, v []byte) {
		x, good := double(typ, v)
		if num != 1 || !good {
			ok = false
			return
		}
		value = a.float(x)
	}) && ok
	return value, ok
}

// wirePair returns the interned pair of an encoded LabelPair, checked as
// expfmt checks labels; false when it is not a plain name and value or
// fails the checks.
func (a *assembler) wirePair(msg []byte, scheme model.ValidationScheme) (*dto.LabelPair, bool) {
	in := a.in
	if in.protoScheme != scheme {
		clear(in.proto)
		in.protoScheme = scheme
	}
	if p, ok := in.proto[string(msg)]; ok {
		return p, true
	}
	var name, value []byte
	ok := true
	ok = eachField(msg, func(num protowire.Number, typ protowire.Type, v []byte) {
		switch {
		case num == fieldLabelName && typ == protowire.BytesType:
			name = v
		case num == fieldLabelValue && typ == protowire.BytesType:
			value = v
		default:
			ok = false
		}
	}) && ok
	if !ok || name == nil || value == nil || !utf8.Valid(value) || !scheme.IsValidLabelName(unsafeString(name)) {
		return nil, false
	}
	p := in.pair(name, value)
	in.proto[string(msg)] = p
	in.n++
	return p, true
}

// wireTimestamp decodes a google.protobuf.Timestamp.
func (a *assembler) wireTimestamp(msg []byte) (*timestamppb.Timestamp, bool) {
	ts := a.timestamps.get()
	ok := true
	ok = eachField(msg, func(num protowire.Number, typ protowire.Type, v []byte) {
		x, good := varint(typ, v)
		switch {
		case !ok || !good:
			ok = false
		case num == 1:
			ts.Seconds = int64(x)
		case num == 2:
			ts.Nanos = int32(x)
		default:
			ok = false
		}
	}) && ok
	return ts, ok
}

// countAndSum decodes the sample_count (1) and sample_sum (2) fields that
// Summary and Histogram share; handled is false for other fields.
func (a *assembler) countAndSum(num protowire.Number, typ protowire.Type, v []byte, count **uint64, sum **float64) (handled, ok bool) {
	switch num {
	case 1:
		x, ok := varint(typ, v)
		*count = a.uint(x)
		return true, ok
	case 2:
		x, ok := double(typ, v)
		*sum = a.float(x)
		return true, ok
	}
	return false, true
}

// created decodes a created_timestamp field into *ts; false when it is
// not a message or repeats.
func (a *assembler) created(typ protowire.Type, v []byte, ts **timestamppb.Timestamp) bool {
	if typ != protowire.BytesType || *ts != nil {
		return false
	}
	var ok bool
	*ts, ok = a.wireTimestamp(v)
	return ok
}

// wireSummary decodes a Summary of count, sum, quantiles and created time.
func (a *assembler) wireSummary(msg []byte) (*dto.Summary, bool) {
	s := a.summaries.get()
	ok := true
	ok = eachField(msg, func(num protowire.Number, typ protowire.Type, v []byte) {
		if !ok {
			return
		}
		var handled bool
		if handled, ok = a.countAndSum(num, typ, v, &s.SampleCount, &s.SampleSum); handled {
			return
		}
		switch num {
		case fieldSummaryQuantile:
			q := a.quantiles.get()
			ok = typ == protowire.BytesType && eachField(v, func(num protowire.Number, typ protowire.Type, v []byte) {
				x, good := double(typ, v)
				switch {
				case !good || !ok:
					ok = false
				case num == 1:
					q.Quantile = a.float(x)
				case num == 2:
					q.Value = a.float(x)
				default:
					ok = false
				}
			}) && ok
			s.Quantile = a.appendQuantile(s.Quantile, q)
		case 4:
			ok = a.created(typ, v, &s.CreatedTimestamp)
		default:
			ok = false
		}
	}) && ok
	return s, ok
}

// wireHistogram decodes a classic Histogram: count, sum, buckets, the float
// count and created time; native histogram fields are left to
// proto.Unmarshal.
func (a *assembler) wireHistogram(msg []byte) (*dto.Histogram, bool) {
	h := a.histograms.get()
	ok := true
	ok = eachField(msg, func(num protowire.Number, typ protowire.Type, v []byte) {
		if !ok {
			return
		}
		var handled bool
		if handled, ok = a.countAndSum(num, typ, v, &h.SampleCount, &h.SampleSum); handled {
			return
		}
		switch num {
		case fieldSummaryQuantile:
			b := a.buckets.get()
			ok = typ == protowire.BytesType && eachField(v, func(num protowire.Number, typ protowire.Type, v []byte) {
				if !ok {
					return
				}
				switch num {
				case 1:
					var x uint64
					x, ok = varint(typ, v)
					b.CumulativeCount = a.uint(x)
				case 2:
					var x float64
					x, ok = double(typ, v)
					b.UpperBound = a.float(x)
				case 4:
					var x float64
					x, ok = double(typ, v)
					b.CumulativeCountFloat = a.float(x)
				default:
					ok = false
				}
			}) && ok
			h.Bucket = a.appendBucket(h.Bucket, b, a.widest)
		case 4:
			var x float64
			x, ok = double(typ, v)
			h.SampleCountFloat = a.float(x)
		case 15:
			ok = a.created(typ, v, &h.CreatedTimestamp)
		default:
			ok = false
		}
	}) && ok
	return h, ok
}
