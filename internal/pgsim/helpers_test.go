package pgsim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// startSim starts a simulation on ephemeral loopback ports and closes it
// when the test ends, failing the test if Close is slow or fails.
func startSim(t *testing.T, cfg Config) *Sim {
	t.Helper()
	if cfg.Logf == nil {
		cfg.Logf = t.Logf
	}
	s, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		start := time.Now()
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Close took %v, want ≤ 2s", d)
		}
	})
	return s
}

var testClient = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil}}

// scrape reads a text exposition into families by name.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := testClient.Get(url)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	return parsePage(t, body)
}

func parsePage(t *testing.T, body []byte) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return fams
}

// value sums the samples of a counter or gauge family whose labels include
// every given pair ("name", "value", ...).
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	f := fams[name]
	if f == nil {
		return 0
	}
	sum := 0.0
	for _, m := range f.Metric {
		if !hasLabels(m, labels...) {
			continue
		}
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		}
	}
	return sum
}

func hasLabels(m *dto.Metric, labels ...string) bool {
	for i := 0; i+1 < len(labels); i += 2 {
		found := false
		for _, lp := range m.Label {
			if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// doJSON sends a JSON request and decodes a JSON answer into out (if not nil).
func doJSON(t *testing.T, method, url, token, body string, header http.Header, out any) int {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode >= 400 && !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s %s: error answer has Content-Type %q, want JSON", method, url, ct)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: answer %q: %v", method, url, data, err)
		}
	}
	return resp.StatusCode
}

// placeOrder posts an order and returns its id ("" when refused) and status code.
func placeOrder(t *testing.T, s *Sim, user string) (string, int) {
	t.Helper()
	var out map[string]string
	code := doJSON(t, http.MethodPost, strings.TrimSuffix(s.MetricsURL, "/metrics")+"/orders", "", `{"userId":"`+user+`"}`, nil, &out)
	return out["orderId"], code
}

// fastTiming shortens the delays that the behaviour under test does not
// depend on.
func fastTiming() Timing {
	return Timing{
		ReconcileAfter: 500 * time.Millisecond, ReconcileInterval: 200 * time.Millisecond,
		GiveUpAfter: 2 * time.Second, ProcessingMin: 100 * time.Millisecond, ProcessingMax: 300 * time.Millisecond,
		BreakerOpen: time.Second,
	}
}

func t0ctx() context.Context { return context.Background() }
