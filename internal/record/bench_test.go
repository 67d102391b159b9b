package record

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"

	"resiltop/internal/model"
	"resiltop/internal/scrape/scrapetest"
)

// page2k is the scale benchmark's page: the 10k page's first 17
// dependencies, 2,040 Prometheus series, among them the application's own
// histograms that no profile reads.
func page2k() *model.Page {
	keep := map[string]bool{}
	for d := range 17 {
		keep[fmt.Sprintf("dep%03d", d)] = true
	}
	var fams []*dto.MetricFamily
	for _, f := range scrapetest.Families10k() {
		var ms []*dto.Metric
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if (l.GetName() == "dependency" && keep[l.GetValue()]) ||
					(l.GetName() == "handler" && keep[strings.Split(l.GetValue(), "/")[2]]) {
					ms = append(ms, m)
				}
			}
		}
		f.Metric = ms
		fams = append(fams, f)
	}
	return model.NewPage(fams)
}

// native keeps the resiltop convention's families, as a Keep built from
// the profiles' Families would on this page.
func native(name string) bool { return strings.HasPrefix(name, "resilience_") }

// BenchmarkWrite is the recorder's cost per scrape of the 2k page, all
// families and only those a profile reads; it reports the bytes each
// scrape adds to the file. Compare with BenchmarkDecodeBaseline, the
// protobuf decode every scrape of that page costs anyway.
func BenchmarkWrite(b *testing.B) {
	for _, c := range []struct {
		name string
		keep func(string) bool
	}{{"all", nil}, {"read", native}} {
		b.Run(c.name, func(b *testing.B) {
			s := model.Scrape{Target: "http://127.0.0.1:9100/metrics", Time: t0, Duration: time.Millisecond, Page: page2k()}
			var sink countingWriter
			w, err := NewWriter(&sink, Meta{}, Options{Keep: c.keep})
			if err != nil {
				b.Fatal(err)
			}
			start := sink.n
			for b.Loop() {
				if err := w.Write(s); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(sink.n-start)/float64(b.N), "bytes/scrape")
		})
	}
}

// BenchmarkDecodeBaseline decodes the 2k page from protobuf-delimited, the
// work a scrape of it costs before any recording.
func BenchmarkDecodeBaseline(b *testing.B) {
	body, err := appendBody(nil, model.Scrape{Target: "t", Time: t0, Page: page2k()}, nil)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := parseBody(body, false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCodec compares the payload codecs on the encoded 2k page: S2
// (chosen), zstd at its fastest level with Huffman-coded and raw literals
// and at its default level, and gzip at its fastest and default level; it
// reports the compressed bytes.
func BenchmarkCodec(b *testing.B) {
	body, err := appendBody(nil, model.Scrape{Target: "t", Time: t0, Page: page2k()}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("encoded body: %d bytes", len(body))
	b.Run("s2", func(b *testing.B) {
		out := make([]byte, s2.MaxEncodedLen(len(body)))
		var n int
		for b.Loop() {
			n = len(s2.Encode(out, body))
		}
		b.ReportMetric(float64(n), "bytes")
	})
	for _, c := range []struct {
		name   string
		lvl    zstd.EncoderLevel
		rawLit bool
	}{{"fastest", zstd.SpeedFastest, false}, {"fastest-rawlit", zstd.SpeedFastest, true}, {"default", zstd.SpeedDefault, false}} {
		b.Run("zstd-"+c.name, func(b *testing.B) {
			enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(c.lvl), zstd.WithNoEntropyCompression(c.rawLit),
				zstd.WithEncoderConcurrency(1), zstd.WithEncoderCRC(false))
			if err != nil {
				b.Fatal(err)
			}
			var out []byte
			for b.Loop() {
				out = enc.EncodeAll(body, out[:0])
			}
			b.ReportMetric(float64(len(out)), "bytes")
		})
	}
	for _, lvl := range []int{gzip.BestSpeed, gzip.DefaultCompression} {
		b.Run(fmt.Sprintf("gzip-%d", lvl), func(b *testing.B) {
			var out bytes.Buffer
			w, err := gzip.NewWriterLevel(&out, lvl)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				out.Reset()
				w.Reset(&out)
				w.Write(body)
				w.Close()
			}
			b.ReportMetric(float64(out.Len()), "bytes")
		})
	}
}

// countingWriter counts and discards.
type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// BenchmarkEncodeFamilies compares, in one run, the two ways of writing the
// families of the 2k page the profiles read: protobuf's reflective marshal
// and appendFamily's direct path (the same bytes).
func BenchmarkEncodeFamilies(b *testing.B) {
	var fams []*dto.MetricFamily
	for _, f := range page2k().Families {
		if native(f.GetName()) {
			fams = append(fams, f)
		}
	}
	b.Run("proto", func(b *testing.B) {
		var buf []byte
		opts := proto.MarshalOptions{UseCachedSize: true}
		for b.Loop() {
			buf = buf[:0]
			for _, f := range fams {
				buf = binary.AppendUvarint(buf, uint64(proto.Size(f)))
				buf, _ = opts.MarshalAppend(buf, f)
			}
		}
	})
	b.Run("direct", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			buf = buf[:0]
			for _, f := range fams {
				buf, _ = appendFamily(buf, f)
			}
		}
	})
}
