package ui

import (
	"strings"
	"testing"

	"resiltop/internal/model"
)

// TestDetailLatencyLine checks that an average latency (HAProxy) shows,
// said to be an average, only where no quantile is known.
func TestDetailLatencyLine(t *testing.T) {
	u := model.Unknown()
	unknownQ := model.Quantiles{P50: u, P90: u, P99: u, P999: u}
	tests := []struct {
		name string
		q    model.Quantiles
		mean model.Value
		want string
	}{
		{"only an average", unknownQ, 0.12, "latency avg 120ms (no histogram) · timeout —"},
		{"quantiles win over an average", model.Quantiles{P50: 0.1, P90: u, P99: 0.3, P999: u}, 0.12, "latency p50 100ms · p90 — · p99 300ms"},
		{"nothing known", unknownQ, u, "latency p50 — · p90 — · p99 — · p99.9 —"},
		{"an average of nothing timed yet", unknownQ, 0, "latency p50 — · p90 —"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := fixture()
			dep := snap.Dependencies[0]
			dep.Latency, dep.LatencyMean, dep.TimeoutSeconds = tt.q, tt.mean, u
			got := detailModel{}.build(snap, &dep, nil, "", "", 200, 60, newStyles(true), true).content
			if !strings.Contains(got, tt.want) {
				t.Errorf("detail lacks %q:\n%s", tt.want, got)
			}
			if strings.Contains(got, "avg") != strings.Contains(tt.want, "avg") {
				t.Errorf("average shown %v, want %v", strings.Contains(got, "avg"), strings.Contains(tt.want, "avg"))
			}
		})
	}
}
