package scrapetest

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

func TestPage10kShape(t *testing.T) {
	text := Page10k(expfmt.FmtText)
	lines := 0
	for _, l := range strings.Split(string(text), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			lines++
		}
	}
	if lines != Samples {
		t.Errorf("text page has %d sample lines, want %d", lines, Samples)
	}
	for _, format := range Formats {
		t.Run(string(format), func(t *testing.T) {
			page := Page10k(format)
			if !bytes.Equal(page, Page10k(format)) {
				t.Fatal("Page10k is not deterministic")
			}
			dec := expfmt.NewDecoder(bytes.NewReader(page), format)
			metrics, histograms, deps := 0, 0, map[string]bool{}
			for {
				var f dto.MetricFamily
				err := dec.Decode(&f)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range f.Metric {
					metrics++
					if f.GetType() == dto.MetricType_HISTOGRAM {
						histograms++
						if n := len(m.GetHistogram().GetBucket()); n < Buckets-1 {
							t.Fatalf("%s has %d buckets", f.GetName(), n)
						}
					}
					for _, l := range m.Label {
						if l.GetName() == "dependency" {
							deps[l.GetValue()] = true
						}
					}
				}
			}
			if want := Dependencies*perDependency + Histograms; metrics != want {
				t.Errorf("%d metrics, want %d", metrics, want)
			}
			if histograms != Histograms {
				t.Errorf("%d histograms, want %d", histograms, Histograms)
			}
			if len(deps) != Dependencies {
				t.Errorf("%d dependencies, want %d", len(deps), Dependencies)
			}
		})
	}
}

func TestServeBytes(t *testing.T) {
	url := ServeBytes(t, "text/plain; version=0.0.4", []byte("up 1\n"))
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("not loopback: %s", url)
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if string(body) != "up 1\n" || resp.Header.Get("Content-Type") != "text/plain; version=0.0.4" {
		t.Fatalf("got %q %q", body, resp.Header.Get("Content-Type"))
	}
}
