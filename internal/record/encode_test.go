package record

import (
	"bytes"
	"encoding/binary"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	pmodel "github.com/prometheus/common/model"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"resiltop/internal/scrape/scrapetest"
)

// projectFamilies are the families of every text page the project keeps in
// testdata (pgsim, HAProxy, Envoy, Spring, OTel, the model's edge cases)
// and of the 10k page.
func projectFamilies(t *testing.T) []*dto.MetricFamily {
	fams := scrapetest.Families10k()
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.Contains(path, "testdata") ||
			!(strings.HasSuffix(path, ".prom") || strings.HasSuffix(path, ".txt")) {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		parser := expfmt.NewTextParser(pmodel.UTF8Validation)
		parsed, err := parser.TextToMetricFamilies(bytes.NewReader(data))
		if err != nil {
			return nil // a page that is broken on purpose
		}
		for _, f := range parsed {
			fams = append(fams, f)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(fams) < 200 {
		t.Fatalf("only %d families found", len(fams))
	}
	return fams
}

// TestAppendFamilyIsProtobuf: the direct encoding of every family the
// project has is byte for byte what proto.Marshal writes, and decodes to
// an equal family.
func TestAppendFamilyIsProtobuf(t *testing.T) {
	for _, f := range projectFamilies(t) {
		if !plainFamily(f) {
			t.Errorf("%s: not on the direct path", f.GetName())
			continue
		}
		checkFamily(t, f)
	}
}

// TestAppendFamilyFallsBack: families with what the direct path does not
// write (native histograms, exemplars, created timestamps) go through proto
// and come back equal; fields unknown to client_model are dropped.
func TestAppendFamilyFallsBack(t *testing.T) {
	name, one, two := "h", 1.0, uint64(2)
	hist := func(h *dto.Histogram) *dto.MetricFamily {
		return &dto.MetricFamily{Name: &name, Type: dto.MetricType_HISTOGRAM.Enum(), Metric: []*dto.Metric{{Histogram: h}}}
	}
	schema := int32(3)
	tests := map[string]*dto.MetricFamily{
		"native histogram": hist(&dto.Histogram{SampleCount: &two, Schema: &schema, PositiveSpan: []*dto.BucketSpan{{Offset: new(int32), Length: new(uint32)}}, PositiveDelta: []int64{2}}),
		"bucket exemplar":  hist(&dto.Histogram{Bucket: []*dto.Bucket{{CumulativeCount: &two, UpperBound: &one, Exemplar: &dto.Exemplar{Value: &one}}}}),
		"created":          hist(&dto.Histogram{SampleCount: &two, CreatedTimestamp: timestamppb.New(t0)}),
		"counter exemplar": {Name: &name, Metric: []*dto.Metric{{Counter: &dto.Counter{Value: &one, Exemplar: &dto.Exemplar{Value: &one}}}}},
	}
	for what, f := range tests {
		if plainFamily(f) {
			t.Errorf("%s: on the direct path", what)
		}
		checkFamily(t, f)
	}
	// NaN, ±Inf, a float count and a timestamp take the direct path.
	nan, inf := math.NaN(), math.Inf(1)
	ts := int64(-5)
	f := hist(&dto.Histogram{SampleCountFloat: &one, SampleSum: &nan, Bucket: []*dto.Bucket{{CumulativeCountFloat: &one, UpperBound: &inf}}})
	f.Metric[0].TimestampMs = &ts
	if !plainFamily(f) {
		t.Error("a float histogram left the direct path")
	}
	checkFamily(t, f)

	unknown := &dto.MetricFamily{Name: &name, Metric: []*dto.Metric{{Counter: &dto.Counter{Value: &one}}}}
	unknown.Metric[0].ProtoReflect().SetUnknown(protowire.AppendVarint(protowire.AppendTag(nil, 99, protowire.VarintType), 1))
	got, err := appendFamily(nil, unknown)
	if err != nil {
		t.Fatal(err)
	}
	var back dto.MetricFamily
	if err := proto.Unmarshal(got[1:], &back); err != nil || len(back.Metric[0].ProtoReflect().GetUnknown()) > 0 ||
		back.Metric[0].GetCounter().GetValue() != 1 {
		t.Errorf("unknown field: decodes to %v, %v; want the counter without it", &back, err)
	}
}

func checkFamily(t *testing.T, f *dto.MetricFamily) {
	t.Helper()
	got, err := appendFamily(nil, f)
	if err != nil {
		t.Fatalf("%s: %v", f.GetName(), err)
	}
	n, k := binary.Uvarint(got)
	if k <= 0 || int(n) != len(got)-k {
		t.Fatalf("%s: length prefix %d for %d bytes", f.GetName(), n, len(got)-k)
	}
	want, err := proto.MarshalOptions{Deterministic: true}.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if plainFamily(f) && !bytes.Equal(got[k:], want) {
		t.Errorf("%s: direct encoding differs from proto.Marshal", f.GetName())
	}
	var back dto.MetricFamily
	if err := proto.Unmarshal(got[k:], &back); err != nil || !proto.Equal(&back, f) {
		t.Errorf("%s: decodes to %v (%v), want %v", f.GetName(), &back, err, f)
	}
}
