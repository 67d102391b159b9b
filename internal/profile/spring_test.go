package profile

import (
	"math"
	"resiltop/internal/model"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestSpringGolden(t *testing.T) { convGolden(t, "spring", spring{}) }

func TestSpringSignals(t *testing.T) {
	obs := spring{}.Read(convMustParse(t, convSeedText(t, "spring/boot3_histogram.prom")))
	convCheckSane(t, obs)
	by := map[string]model.Observation{}
	for _, o := range obs {
		by[o.Dependency] = o
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"2xx and 4xx succeed", by["pg"].Calls[model.OutcomeSuccess], 22.0},
		{"5xx fails", by["pg"].Calls[model.OutcomeFailure], 3.0},
		{"timeout exception is unknown outcome", by["pg"].Calls[model.OutcomeTimeout], 4.0},
		{"histogram merged", by["pg"].Latency.Counts, []float64{10, 22, 29}},
		{"hikari in use", by["orders-db"].PoolActive, 10.0},
		{"hikari waiters", by["orders-db"].PoolPending, 7.0},
		{"hikari timeouts", by["orders-db"].PoolAcquireTimeouts, 3.0},
		{"hc5 leased", by["mail"].PoolActive, 18.0},
		{"hc5 max", by["mail"].PoolMax, 20.0},
		{"no breaker here", by["pg"].Breaker, model.BreakerUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !convEqual(tt.got, tt.want) {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestSpringRealHikari(t *testing.T) {
	p := convReal(t, "hikaricp_actuator_prometheus_touret.txt")
	if !(spring{}).Detect(p) {
		t.Fatal("not detected")
	}
	obs := spring{}.Read(p)
	convCheckSane(t, obs)
	if len(obs) != 1 {
		t.Fatalf("want one pool, got %+v", obs)
	}
	o := obs[0]
	tests := []struct {
		name      string
		got, want any
	}{
		{"dependency is the pool", o.Dependency, "HikariPool-1"},
		{"active", o.PoolActive, 0.0},
		{"idle", o.PoolIdle, 10.0},
		{"max", o.PoolMax, 10.0},
		{"pending", o.PoolPending, 0.0},
		{"timeouts", o.PoolAcquireTimeouts, 0.0},
		{"no calls made up", len(o.Calls), 0},
		{"no breaker made up", o.Breaker, model.BreakerUnknown},
		{"no retries made up", math.IsNaN(o.Retries), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !convEqual(tt.got, tt.want) {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func FuzzSpringRead(f *testing.F) {
	convFuzzProfile(f, spring{}, convSeedFiles(f, "spring")...)
}

// TestSpringAppThroughStore reads one Spring application's page (breaker,
// retry and HTTP client all named pg, plus a HikariCP pool) through the
// Store: the profiles merge into one pg row, and the -1 failure rate stays
// unknown rather than becoming a number anywhere.
func TestSpringAppThroughStore(t *testing.T) {
	page := func(calls, open float64) *model.Page {
		return convMustParse(t, `# TYPE resilience4j_circuitbreaker_state gauge
resilience4j_circuitbreaker_state{name="pg",state="closed",} `+convFtoa(1-open)+`
resilience4j_circuitbreaker_state{name="pg",state="open",} `+convFtoa(open)+`
# TYPE resilience4j_circuitbreaker_failure_rate gauge
resilience4j_circuitbreaker_failure_rate{name="pg",} -1.0
# TYPE resilience4j_retry_calls_total counter
resilience4j_retry_calls_total{kind="successful_without_retry",name="pg",} `+convFtoa(calls)+`
resilience4j_retry_calls_total{kind="successful_with_retry",name="pg",} `+convFtoa(calls/10)+`
# TYPE http_client_requests_seconds histogram
http_client_requests_seconds_bucket{client_name="pg",outcome="SUCCESS",status="200",le="0.1",} `+convFtoa(calls)+`
http_client_requests_seconds_bucket{client_name="pg",outcome="SUCCESS",status="200",le="+Inf",} `+convFtoa(calls*1.1)+`
http_client_requests_seconds_count{client_name="pg",outcome="SUCCESS",status="200",} `+convFtoa(calls*1.1)+`
http_client_requests_seconds_sum{client_name="pg",outcome="SUCCESS",status="200",} 1.0
# TYPE hikaricp_connections_active gauge
hikaricp_connections_active{pool="orders-db",} 3.0
# TYPE hikaricp_connections_max gauge
hikaricp_connections_max{pool="orders-db",} 10.0
`)
	}
	s := model.NewStore(model.StoreOptions{Profiles: Builtin()})
	t0 := time.Unix(1_700_000_000, 0)
	s.Ingest(model.Scrape{Target: "http://orders:8080/actuator/prometheus", Time: t0, Page: page(100, 0)})
	s.Ingest(model.Scrape{Target: "http://orders:8080/actuator/prometheus", Time: t0.Add(time.Second), Page: page(200, 1)})
	snap := s.Snapshot(t0.Add(time.Second), time.Minute)
	by := map[string]model.Dependency{}
	for _, d := range snap.Dependencies {
		by[d.Name] = d
	}
	pg, db := by["pg"], by["orders-db"]
	tests := []struct {
		name      string
		got, want any
	}{
		{"two rows", len(snap.Dependencies), 2},
		{"pg merges both profiles", strings.Join(pg.Profiles, ","), "resilience4j,spring"},
		{"breaker from resilience4j", pg.Breaker.State, model.BreakerOpen},
		{"latency from the HTTP client", pg.Latency.P50.Known(), true},
		{"calls per second known", pg.CallsPerSecond.Known(), true},
		{"pool from HikariCP", db.Pool.InUse, model.Value(3)},
		{"pool max", db.Pool.Max, model.Value(10)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !convEqual(tt.got, tt.want) {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func convFtoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
