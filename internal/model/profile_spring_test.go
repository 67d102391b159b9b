package model

import (
	"math"
	"testing"
)

func TestSpringGolden(t *testing.T) { convGolden(t, "spring", spring{}) }

func TestSpringSignals(t *testing.T) {
	obs := spring{}.Read(convMustParse(t, convSeedText(t, "spring/boot3_histogram.prom")))
	convCheckSane(t, obs)
	by := map[string]Observation{}
	for _, o := range obs {
		by[o.Dependency] = o
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"2xx and 4xx succeed", by["pg"].Calls[OutcomeSuccess], 22.0},
		{"5xx fails", by["pg"].Calls[OutcomeFailure], 3.0},
		{"timeout exception is unknown outcome", by["pg"].Calls[OutcomeTimeout], 4.0},
		{"histogram merged", by["pg"].Latency.Counts, []float64{10, 22, 29}},
		{"hikari in use", by["orders-db"].PoolActive, 10.0},
		{"hikari waiters", by["orders-db"].PoolPending, 7.0},
		{"hikari timeouts", by["orders-db"].PoolAcquireTimeouts, 3.0},
		{"hc5 leased", by["mail"].PoolActive, 18.0},
		{"hc5 max", by["mail"].PoolMax, 20.0},
		{"no breaker here", by["pg"].Breaker, BreakerUnknown},
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
		{"no breaker made up", o.Breaker, BreakerUnknown},
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
