package model

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// TestOutcomesCountedOnce checks that a call is one call however many
// counters of however many profiles record it, and a timeout one timeout.
func TestOutcomesCountedOnce(t *testing.T) {
	envoyPage := func(ok, fail, timeouts, overflow float64) string {
		return fmt.Sprintf(`# TYPE envoy_cluster_upstream_rq_xx counter
envoy_cluster_upstream_rq_xx{envoy_cluster_name="pg",envoy_response_code_class="2"} %g
envoy_cluster_upstream_rq_xx{envoy_cluster_name="pg",envoy_response_code_class="5"} %g
# TYPE envoy_cluster_upstream_rq_timeout counter
envoy_cluster_upstream_rq_timeout{envoy_cluster_name="pg"} %g
# TYPE envoy_cluster_upstream_rq_pending_overflow counter
envoy_cluster_upstream_rq_pending_overflow{envoy_cluster_name="pg"} %g
`, ok, fail, timeouts, overflow)
	}
	// r4jPage has no time limiter when timeouts < 0.
	r4jPage := func(ok, failed, timeouts float64) string {
		text := fmt.Sprintf(`# TYPE resilience4j_retry_calls_total counter
resilience4j_retry_calls_total{name="pg",kind="successful_without_retry"} %g
resilience4j_retry_calls_total{name="pg",kind="failed_with_retry"} %g
`, ok, failed)
		if timeouts >= 0 {
			text += fmt.Sprintf("# TYPE resilience4j_timelimiter_calls_total counter\n"+
				"resilience4j_timelimiter_calls_total{name=\"pg\",kind=\"timeout\"} %g\n", timeouts)
		}
		return text
	}
	springPage := func(ok, timeouts float64) string {
		return fmt.Sprintf(`# TYPE http_client_requests_seconds summary
http_client_requests_seconds_count{client_name="pg",outcome="SUCCESS",status="200",exception="none"} %g
http_client_requests_seconds_sum{client_name="pg",outcome="SUCCESS",status="200",exception="none"} 1
http_client_requests_seconds_count{client_name="pg",outcome="UNKNOWN",status="CLIENT_ERROR",exception="SocketTimeoutException"} %g
http_client_requests_seconds_sum{client_name="pg",outcome="UNKNOWN",status="CLIENT_ERROR",exception="SocketTimeoutException"} 1
`, ok, timeouts)
	}
	tests := []struct {
		name                   string
		first, last            string // pages at 0 s and 10 s
		calls, errors, timeout float64
		rising                 string // "" when timeouts_rising must not fire
	}{{
		name:  "Envoy: timeouts are 504s and overflows 503s in its 5xx",
		first: envoyPage(0, 0, 0, 0), last: envoyPage(90, 10, 10, 5),
		calls: 10, errors: 0.1, timeout: 1, rising: "10% of 10 calls/s",
	}, {
		name:  "resilience4j: the time limiter's timeouts are the retry's failures",
		first: r4jPage(0, 0, 0), last: r4jPage(90, 10, 10),
		calls: 10, errors: 0.1, timeout: 1, rising: "10% of 10 calls/s",
	}, {
		name:  "resilience4j and Spring count the same client's calls: one of them counts",
		first: r4jPage(0, 0, -1) + springPage(0, 0), last: r4jPage(100, 0, -1) + springPage(100, 50),
		calls: 10, errors: 0, timeout: 0,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(StoreOptions{})
			s.Ingest(Scrape{Target: "t", Time: at(0), Page: parsePage(t, tt.first)})
			s.Ingest(Scrape{Target: "t", Time: at(10), Page: parsePage(t, tt.last)})
			d := dep(t, s.Snapshot(at(10), time.Minute), "pg")
			if !near(d.CallsPerSecond, tt.calls) || !near(d.ErrorRatio, tt.errors) {
				t.Errorf("calls/s %v error ratio %v, want %v %v", d.CallsPerSecond, d.ErrorRatio, tt.calls, tt.errors)
			}
			if got := float64(d.TimeoutsPerSecond); !near(d.TimeoutsPerSecond, tt.timeout) && !(tt.timeout == 0 && math.IsNaN(got)) {
				t.Errorf("timeouts/s %v, want %v", got, tt.timeout)
			}
			var rising string
			for _, f := range d.Findings {
				if f.Kind == TimeoutsRising {
					rising = f.Message
				}
			}
			if tt.rising == "" && rising != "" || !strings.Contains(rising, tt.rising) {
				t.Errorf("timeouts_rising %q, want one with %q", rising, tt.rising)
			}
		})
	}
}
