package record

import (
	"math"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// appendFamily appends f as a length-prefixed io.prometheus.client.MetricFamily
// message. The fields scrape pages carry (names, help, type, unit, labels,
// values, classic histogram buckets, summary quantiles, timestamps) are
// written directly, in one pass: protobuf's reflective marshal was 60% of
// recording a scrape. A family carrying anything else (exemplars, native
// histograms, created timestamps) goes through proto.Marshal; both give the
// same message. Fields unknown to this client_model are not written: no
// profile can read them, and looking for them cost as much as the encoding.
func appendFamily(b []byte, f *dto.MetricFamily) ([]byte, error) {
	if !plainFamily(f) {
		b = protowire.AppendVarint(b, uint64(proto.Size(f)))
		return proto.MarshalOptions{UseCachedSize: true}.MarshalAppend(b, f)
	}
	return appendLen(b, func(b []byte) []byte {
		b = appendStringField(b, 1, f.Name)
		b = appendStringField(b, 2, f.Help)
		if f.Type != nil {
			b = protowire.AppendTag(b, 3, protowire.VarintType)
			b = protowire.AppendVarint(b, uint64(int64(*f.Type)))
		}
		for _, m := range f.Metric {
			b = appendMessage(b, 4, func(b []byte) []byte { return appendMetric(b, m) })
		}
		return appendStringField(b, 5, f.Unit)
	}), nil
}

func appendMetric(b []byte, m *dto.Metric) []byte {
	for _, l := range m.Label {
		b = appendMessage(b, 1, func(b []byte) []byte {
			return appendStringField(appendStringField(b, 1, l.Name), 2, l.Value)
		})
	}
	if m.Gauge != nil {
		b = appendMessage(b, 2, func(b []byte) []byte { return appendDoubleField(b, 1, m.Gauge.Value) })
	}
	if m.Counter != nil {
		b = appendMessage(b, 3, func(b []byte) []byte { return appendDoubleField(b, 1, m.Counter.Value) })
	}
	if s := m.Summary; s != nil {
		b = appendMessage(b, 4, func(b []byte) []byte {
			b = appendUintField(b, 1, s.SampleCount)
			b = appendDoubleField(b, 2, s.SampleSum)
			for _, q := range s.Quantile {
				b = appendMessage(b, 3, func(b []byte) []byte {
					return appendDoubleField(appendDoubleField(b, 1, q.Quantile), 2, q.Value)
				})
			}
			return b
		})
	}
	if m.Untyped != nil {
		b = appendMessage(b, 5, func(b []byte) []byte { return appendDoubleField(b, 1, m.Untyped.Value) })
	}
	if m.TimestampMs != nil {
		b = protowire.AppendTag(b, 6, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(*m.TimestampMs))
	}
	if h := m.Histogram; h != nil {
		b = appendMessage(b, 7, func(b []byte) []byte {
			b = appendUintField(b, 1, h.SampleCount)
			b = appendDoubleField(b, 2, h.SampleSum)
			for _, bk := range h.Bucket {
				b = appendMessage(b, 3, func(b []byte) []byte {
					b = appendUintField(b, 1, bk.CumulativeCount)
					b = appendDoubleField(b, 2, bk.UpperBound)
					return appendDoubleField(b, 4, bk.CumulativeCountFloat)
				})
			}
			return appendDoubleField(b, 4, h.SampleCountFloat)
		})
	}
	return b
}

// plainFamily reports whether appendFamily's direct path writes all of f.
func plainFamily(f *dto.MetricFamily) bool {
	for _, m := range f.Metric {
		switch {
		case m.Counter != nil && (m.Counter.Exemplar != nil || m.Counter.CreatedTimestamp != nil):
			return false
		case m.Summary != nil && m.Summary.CreatedTimestamp != nil:
			return false
		case m.Histogram != nil && !plainHistogram(m.Histogram):
			return false
		}
	}
	return true
}

// plainHistogram reports a classic histogram: no native buckets, exemplars
// or created timestamp.
func plainHistogram(h *dto.Histogram) bool {
	if h.CreatedTimestamp != nil || h.Schema != nil || h.ZeroThreshold != nil || h.ZeroCount != nil ||
		h.ZeroCountFloat != nil || len(h.NegativeSpan) > 0 || len(h.NegativeDelta) > 0 || len(h.NegativeCount) > 0 ||
		len(h.PositiveSpan) > 0 || len(h.PositiveDelta) > 0 || len(h.PositiveCount) > 0 || len(h.Exemplars) > 0 {
		return false
	}
	for _, bk := range h.Bucket {
		if bk.Exemplar != nil {
			return false
		}
	}
	return true
}

// appendMessage appends field num as a length-delimited message whose
// content write appends.
func appendMessage(b []byte, num protowire.Number, write func([]byte) []byte) []byte {
	return appendLen(protowire.AppendTag(b, num, protowire.BytesType), write)
}

// appendLen appends what write appends, prefixed by its length as a varint.
// It reserves one byte for the length, enough below 128 bytes, and moves
// the content up when the length needs more.
func appendLen(b []byte, write func([]byte) []byte) []byte {
	at := len(b)
	b = write(append(b, 0))
	n := len(b) - at - 1
	if n < 0x80 {
		b[at] = byte(n)
		return b
	}
	k := protowire.SizeVarint(uint64(n))
	b = append(b, make([]byte, k-1)...)
	copy(b[at+k:], b[at+1:at+1+n])
	protowire.AppendVarint(b[at:at], uint64(n))
	return b
}

// appendStringField appends an optional string field; nil is absent.
func appendStringField(b []byte, num protowire.Number, s *string) []byte {
	if s == nil {
		return b
	}
	return protowire.AppendString(protowire.AppendTag(b, num, protowire.BytesType), *s)
}

// appendDoubleField appends an optional double field; nil is absent.
func appendDoubleField(b []byte, num protowire.Number, v *float64) []byte {
	if v == nil {
		return b
	}
	return protowire.AppendFixed64(protowire.AppendTag(b, num, protowire.Fixed64Type), math.Float64bits(*v))
}

// appendUintField appends an optional uint64 field; nil is absent.
func appendUintField(b []byte, num protowire.Number, v *uint64) []byte {
	if v == nil {
		return b
	}
	return protowire.AppendVarint(protowire.AppendTag(b, num, protowire.VarintType), *v)
}
