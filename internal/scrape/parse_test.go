package scrape

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/protobuf/proto"

	"resiltop/internal/model"
	"resiltop/internal/profile"
	"resiltop/internal/scrape/scrapetest"
)

const textCT = "text/plain; version=0.0.4; charset=utf-8"

// value returns the single value of the metric of family name whose labels
// include want, or fails.
func value(t *testing.T, p *model.Page, name string, want ...string) float64 {
	t.Helper()
	f := p.Family(name)
	if f == nil {
		t.Fatalf("no family %s", name)
	}
	var found []float64
	for _, m := range f.Metric {
		if hasLabels(m, want...) {
			switch {
			case m.Counter != nil:
				found = append(found, m.Counter.GetValue())
			case m.Gauge != nil:
				found = append(found, m.Gauge.GetValue())
			case m.Untyped != nil:
				found = append(found, m.Untyped.GetValue())
			}
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s%v: %d matching series, want 1", name, want, len(found))
	}
	return found[0]
}

func hasLabels(m *dto.Metric, kv ...string) bool {
	for i := 0; i+1 < len(kv); i += 2 {
		ok := false
		for _, l := range m.Label {
			ok = ok || (l.GetName() == kv[i] && l.GetValue() == kv[i+1])
		}
		if !ok {
			return false
		}
	}
	return true
}

func TestParsePageText(t *testing.T) {
	tests := []struct {
		name  string
		page  string
		check func(t *testing.T, p *model.Page)
	}{
		{
			name: "family split across the page with a second HELP and TYPE",
			page: "# HELP resilience_calls_total Calls.\n# TYPE resilience_calls_total counter\n" +
				`resilience_calls_total{dependency="pg",outcome="success"} 5` + "\n" +
				"# TYPE other gauge\nother 1\n" +
				"# HELP resilience_calls_total Calls again.\n# TYPE resilience_calls_total counter\n" +
				`resilience_calls_total{dependency="mail",outcome="success"} 7` + "\n",
			check: func(t *testing.T, p *model.Page) {
				f := p.Family("resilience_calls_total")
				if len(f.Metric) != 2 || f.GetType() != dto.MetricType_COUNTER || f.GetHelp() != "Calls." {
					t.Fatalf("merged family: %d metrics, type %v, help %q", len(f.Metric), f.GetType(), f.GetHelp())
				}
				if v := value(t, p, "resilience_calls_total", "dependency", "mail"); v != 7 {
					t.Errorf("mail = %v", v)
				}
			},
		},
		{
			name: "second TYPE with another type keeps the first",
			page: "# TYPE x counter\nx{a=\"1\"} 1\n# TYPE x gauge\nx{a=\"2\"} 2\n",
			check: func(t *testing.T, p *model.Page) {
				if f := p.Family("x"); f.GetType() != dto.MetricType_COUNTER || len(f.Metric) != 2 {
					t.Fatalf("type %v, %d metrics", f.GetType(), len(f.Metric))
				}
			},
		},
		{
			name: "TYPE after samples is ignored",
			page: "x 1\n# TYPE x counter\n",
			check: func(t *testing.T, p *model.Page) {
				if f := p.Family("x"); f.GetType() != dto.MetricType_UNTYPED {
					t.Fatalf("type %v", f.GetType())
				}
			},
		},
		{
			name: "Micrometer trailing comma and no HELP",
			page: "# TYPE resilience4j_circuitbreaker_state gauge\n" +
				`resilience4j_circuitbreaker_state{name="pg",state="open",} 1.0` + "\n",
			check: func(t *testing.T, p *model.Page) {
				if v := value(t, p, "resilience4j_circuitbreaker_state", "name", "pg", "state", "open"); v != 1 {
					t.Errorf("value %v", v)
				}
			},
		},
		{
			name: "NaN and infinities",
			page: "# TYPE g gauge\ng{v=\"nan\"} NaN\ng{v=\"pinf\"} +Inf\ng{v=\"ninf\"} -Inf\n",
			check: func(t *testing.T, p *model.Page) {
				if v := value(t, p, "g", "v", "nan"); !math.IsNaN(v) {
					t.Errorf("NaN parsed as %v", v)
				}
				if v := value(t, p, "g", "v", "pinf"); !math.IsInf(v, 1) {
					t.Errorf("+Inf parsed as %v", v)
				}
				if v := value(t, p, "g", "v", "ninf"); !math.IsInf(v, -1) {
					t.Errorf("-Inf parsed as %v", v)
				}
			},
		},
		{
			name: "duplicate series keep the first, whatever the label order",
			page: "# TYPE c counter\nc{a=\"1\",b=\"2\"} 3\nc{b=\"2\",a=\"1\"} 4\nc{a=\"1\",b=\"3\"} 5\n",
			check: func(t *testing.T, p *model.Page) {
				if n := len(p.Family("c").Metric); n != 2 {
					t.Fatalf("%d series, want 2", n)
				}
				if v := value(t, p, "c", "a", "1", "b", "2"); v != 3 {
					t.Errorf("kept %v, want the first (3)", v)
				}
			},
		},
		{
			name: "type from TYPE only, never from the name",
			page: "# TYPE jobs_total gauge\njobs_total 3\nthings_total 4\n",
			check: func(t *testing.T, p *model.Page) {
				if got := p.Family("jobs_total").GetType(); got != dto.MetricType_GAUGE {
					t.Errorf("jobs_total is %v", got)
				}
				if got := p.Family("things_total").GetType(); got != dto.MetricType_UNTYPED {
					t.Errorf("things_total is %v", got)
				}
			},
		},
		{
			name: "histogram with split buckets",
			page: "# TYPE h histogram\nh_bucket{le=\"0.1\"} 1\nh_bucket{le=\"+Inf\"} 3\n# TYPE h histogram\nh_sum 0.5\nh_count 3\n",
			check: func(t *testing.T, p *model.Page) {
				f := p.Family("h")
				if len(f.Metric) != 1 || f.Metric[0].GetHistogram().GetSampleCount() != 3 {
					t.Fatalf("histogram %v", f)
				}
			},
		},
		{
			name: "duplicate bucket lines keep the first",
			page: "# TYPE h histogram\nh_bucket{le=\"0.1\"} 90\nh_bucket{le=\"0.1\"} 70\nh_bucket{le=\"1\"} 100\n" +
				"h_bucket{le=\"1.0\"} 100\nh_bucket{le=\"+Inf\"} 100\nh_sum 9\nh_count 100\n",
			check: func(t *testing.T, p *model.Page) {
				var got []string
				for _, b := range p.Family("h").Metric[0].GetHistogram().GetBucket() {
					got = append(got, fmt.Sprintf("%g:%d", b.GetUpperBound(), b.GetCumulativeCount()))
				}
				if strings.Join(got, " ") != "0.1:90 1:100 +Inf:100" {
					t.Errorf("buckets %v, want 0.1:90 1:100 +Inf:100", got)
				}
			},
		},
		{
			name: "duplicate bucket lines among many buckets keep the first",
			page: func() string {
				var b strings.Builder
				b.WriteString("# TYPE h histogram\n")
				for i := range 100 {
					fmt.Fprintf(&b, "h_bucket{le=\"%d\"} %d\n", i, i)
				}
				b.WriteString("h_bucket{le=\"7\"} 500\nh_bucket{le=\"+Inf\"} 100\nh_count 100\nh_sum 1\n")
				return b.String()
			}(),
			check: func(t *testing.T, p *model.Page) {
				bs := p.Family("h").Metric[0].GetHistogram().GetBucket()
				if len(bs) != 101 || bs[7].GetCumulativeCount() != 7 || !math.IsInf(bs[100].GetUpperBound(), 1) {
					t.Errorf("%d buckets, le=7 count %d, want 101 and 7", len(bs), bs[7].GetCumulativeCount())
				}
			},
		},
		{
			name: "families sorted by name",
			page: "b 1\na 1\nc 1\n",
			check: func(t *testing.T, p *model.Page) {
				var names []string
				for _, f := range p.Families {
					names = append(names, f.GetName())
				}
				if strings.Join(names, ",") != "a,b,c" {
					t.Errorf("order %v", names)
				}
			},
		},
		{
			name:  "empty page",
			page:  "",
			check: func(t *testing.T, p *model.Page) { expectSeries(t, p, 0) },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(tc.page)
			p, err := ParsePage(body, textCT, 0)
			if err != nil {
				t.Fatal(err)
			}
			if string(body) != tc.page {
				t.Fatal("ParsePage modified its input")
			}
			tc.check(t, p)
		})
	}
}

func expectSeries(t *testing.T, p *model.Page, n int) {
	t.Helper()
	if got := p.Series(); got != n {
		t.Errorf("%d series, want %d", got, n)
	}
}

func TestParsePageErrors(t *testing.T) {
	tests := []struct {
		name, ct, page string
		max            int
		kind           Kind
		line           int
		msg            string
	}{
		{"HTML", "text/html; charset=utf-8", "<html>\n<body>oops</body>\n</html>\n", 0, KindParse, 1, "text/html, not a metrics page"},
		{"binary garbage as text", textCT, "\x00\x01\x02\xff\xfe garbage\n", 0, KindParse, 1, "parse error: line 1"},
		{"binary garbage as protobuf", string(expfmt.FmtProtoDelim), "\x05\xff\xff\xff\xff\xff\xff", 0, KindParse, 0, "parse error"},
		{"protobuf length prefix claiming 27 GB", string(expfmt.FmtProtoDelim), "\xad\xad\xad\xade\x12\x06closed", 0, KindParse, 0, "claims 27"},
		{"protobuf truncated length prefix", string(expfmt.FmtProtoDelim), "\x80\x80", 0, KindParse, 0, "bad length prefix"},
		{"invalid UTF-8 label value", textCT, "ok 1\nbad{a=\"\xff\xfe\"} 1\n", 0, KindParse, 2, "invalid label value"},
		{"bad value", textCT, "# TYPE x gauge\nx one\n", 0, KindParse, 2, "line 2"},
		{"series cap, text", textCT, strings.Repeat("x{a=\"1\"} 1\n", 11), 10, KindTooManySeries, 0, "more than 10 series"},
		{"unknown type", textCT, "# TYPE x wibble\n", 0, KindParse, 1, "unknown metric type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePage([]byte(tc.page), tc.ct, tc.max)
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a *scrape.Error", err)
			}
			if se.Kind != tc.kind || se.Line != tc.line || !strings.Contains(se.Error(), tc.msg) {
				t.Fatalf("got kind %s line %d %q; want %s line %d containing %q", se.Kind, se.Line, se.Error(), tc.kind, tc.line, tc.msg)
			}
		})
	}
}

// TestParsePageProtobuf checks that protobuf pages merge split families,
// drop duplicate series and honour the series cap counted like Prometheus.
func TestParsePageProtobuf(t *testing.T) {
	counter := func(dep string, v float64) *dto.Metric {
		return &dto.Metric{
			Label:   []*dto.LabelPair{{Name: proto.String("dependency"), Value: proto.String(dep)}},
			Counter: &dto.Counter{Value: proto.Float64(v)},
		}
	}
	fam := func(ms ...*dto.Metric) *dto.MetricFamily {
		return &dto.MetricFamily{Name: proto.String("resilience_retries_total"), Type: dto.MetricType_COUNTER.Enum(), Metric: ms}
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.FmtProtoDelim)
	for _, f := range []*dto.MetricFamily{fam(counter("pg", 1)), fam(counter("mail", 2), counter("pg", 9))} {
		if err := enc.Encode(f); err != nil {
			t.Fatal(err)
		}
	}
	p, err := ParsePage(buf.Bytes(), string(expfmt.FmtProtoDelim), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Families) != 1 {
		t.Fatalf("%d families, want 1", len(p.Families))
	}
	if v := value(t, p, "resilience_retries_total", "dependency", "pg"); v != 1 {
		t.Errorf("pg = %v, want the first (1)", v)
	}
	if v := value(t, p, "resilience_retries_total", "dependency", "mail"); v != 2 {
		t.Errorf("mail = %v", v)
	}

	page := scrapetest.Page10k(expfmt.FmtProtoDelim)
	for _, tc := range []struct {
		max     int
		wantErr bool
	}{{scrapetest.Samples, false}, {scrapetest.Samples - 1, true}} {
		_, err := ParsePage(page, string(expfmt.FmtProtoDelim), tc.max)
		var se *Error
		if got := errors.As(err, &se) && se.Kind == KindTooManySeries; got != tc.wantErr {
			t.Errorf("cap %d: error %v", tc.max, err)
		}
	}
}

// TestPage10kBothFormats checks that text and protobuf give the same page.
func TestPage10kBothFormats(t *testing.T) {
	var pages []*model.Page
	for _, f := range scrapetest.Formats {
		p, err := ParsePage(scrapetest.Page10k(f), string(f), DefaultMaxSeries)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, p)
	}
	if len(pages[0].Families) != len(pages[1].Families) || pages[0].Series() != pages[1].Series() {
		t.Fatalf("protobuf %d families/%d series, text %d/%d",
			len(pages[0].Families), pages[0].Series(), len(pages[1].Families), pages[1].Series())
	}
	for i, f := range pages[0].Families {
		if g := pages[1].Families[i]; f.GetName() != g.GetName() || f.GetType() != g.GetType() || len(f.Metric) != len(g.Metric) {
			t.Errorf("family %d: %s %v %d vs %s %v %d", i, f.GetName(), f.GetType(), len(f.Metric), g.GetName(), g.GetType(), len(g.Metric))
		}
	}
}

// FuzzParsePage feeds arbitrary bytes under each content type: it must
// return a page or an *Error, never panic, and honour the series cap.
func FuzzParsePage(f *testing.F) {
	f.Add([]byte("# TYPE x counter\nx{a=\"1\",} 1\n# TYPE x counter\nx 2\n"), textCT)
	f.Add([]byte("# TYPE h histogram\nh_bucket{le=\"+Inf\"} NaN\nh_sum -Inf\nh_count 1\n"), textCT)
	f.Add([]byte("<html></html>"), "text/html")
	f.Add([]byte("x 1\n# HELP x a\n# HELP x b\n"), "")
	f.Add(scrapetest.Page10k(expfmt.FmtProtoDelim)[:4096], string(expfmt.FmtProtoDelim))
	f.Add(scrapetest.Page10k(expfmt.FmtText)[:4096], textCT+"; escaping=allow-utf-8")
	f.Fuzz(func(t *testing.T, body []byte, ct string) {
		const limit = 50
		p, err := ParsePage(body, ct, limit)
		if err != nil {
			var se *Error
			if !errors.As(err, &se) || se.Msg == "" {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		if p.Series() > limit {
			t.Fatalf("%d series passed a cap of %d", p.Series(), limit)
		}
	})
}

// TestDuplicateBucketQuantile checks the quantile a page with a repeated
// bucket line gives end to end: Prometheus keeps the first sample, so p99
// is 0.91 (summing both would give 0.099).
func TestDuplicateBucketQuantile(t *testing.T) {
	tests := []struct {
		name, page string
		p99        float64
	}{
		{"bucket repeated", `h_bucket{dependency="pg",le="0.1"} 90` + "\n" + `h_bucket{dependency="pg",le="0.1"} 90` + "\n", 0.91},
		{"bucket once", `h_bucket{dependency="pg",le="0.1"} 90` + "\n", 0.91},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := model.NewStore(model.StoreOptions{Profiles: profile.Builtin()})
			for i, counts := range []string{"", tc.page} {
				body := "# TYPE resilience_calls_total counter\n" + `resilience_calls_total{dependency="pg",outcome="success"} 0` +
					"\n# TYPE resilience_attempt_duration_seconds histogram\n"
				if counts == "" {
					body += `resilience_attempt_duration_seconds_bucket{dependency="pg",le="0.1"} 0` + "\n" +
						`resilience_attempt_duration_seconds_bucket{dependency="pg",le="1"} 0` + "\n" +
						`resilience_attempt_duration_seconds_bucket{dependency="pg",le="+Inf"} 0` + "\n"
				} else {
					body += strings.ReplaceAll(counts, "h_bucket", "resilience_attempt_duration_seconds_bucket") +
						`resilience_attempt_duration_seconds_bucket{dependency="pg",le="1"} 100` + "\n" +
						`resilience_attempt_duration_seconds_bucket{dependency="pg",le="+Inf"} 100` + "\n"
				}
				p, err := ParsePage([]byte(body), textCT, 0)
				if err != nil {
					t.Fatal(err)
				}
				s.Ingest(model.Scrape{Target: "t", Time: time.Unix(int64(i), 0), Page: p})
			}
			d := s.Snapshot(time.Unix(1, 0), time.Minute).Dependencies
			if len(d) != 1 || math.Abs(float64(d[0].Latency.P99)-tc.p99) > 1e-9 {
				t.Errorf("dependencies %+v, want p99 %v", d, tc.p99)
			}
		})
	}
}
