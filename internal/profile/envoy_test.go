package profile

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"resiltop/internal/model"
	"resiltop/internal/scrape/scrapetest"
)

func TestEnvoyGolden(t *testing.T) { convGolden(t, "envoy", envoy{}) }

func TestEnvoySignals(t *testing.T) {
	obs := envoy{}.Read(convMustParse(t, convSeedText(t, "envoy/envoy_pressure.prom")))
	convCheckSane(t, obs)
	istio := envoy{}.Read(convMustParse(t, convSeedText(t, "envoy/istio_codes.prom")))
	convCheckSane(t, istio)
	by := map[string]model.Observation{}
	for _, o := range append(obs, istio...) {
		by[o.Dependency] = o
	}
	stock := by["outbound|8080||stock.shop.svc.cluster.local"]
	tests := []struct {
		name      string
		got, want any
	}{
		{"limits, not a state", by["pg"].BreakerLimit, "high:requests,pending"},
		{"no state machine", by["pg"].Breaker, model.BreakerUnknown},
		{"ms converted to s", by["pg"].Latency.Bounds[2], 0.005},
		{"sum converted", math.Round(by["pg"].Latency.Sum*1e6) / 1e6, 61.2345},
		{"5xx fails", by["pg"].Calls[model.OutcomeFailure], 90.0},
		{"1xx-4xx succeed", by["pg"].Calls[model.OutcomeSuccess], 910.0},
		{"timeouts are 504s, inside the failures", by["pg"].TimedOutFailures, 40.0},
		{"no timeout outcome beside the 5xx", hasKey(by["pg"].Calls, model.OutcomeTimeout), false},
		{"overflow is a 503, not another outcome", hasKey(by["pg"].Calls, model.OutcomeShortCircuited), false},
		{"retries", by["pg"].Retries, 150.0},
		{"exhausted = limit + overflow", by["pg"].RetriesExhausted, 15.0},
		{"waiters", by["pg"].PoolPending, 1024.0},
		{"max from remaining", by["pg"].PoolMax, 100.0},
		{"ejections", by["pg"].EjectedHosts, 2.0},
		{"maintenance rejections", by["mail"].ForcedRejections, 310.0},
		{"maintenance rejections are 503s, not another outcome", hasKey(by["mail"].Calls, model.OutcomeShortCircuited), false},
		{"istio codes", stock.Calls[model.OutcomeFailure], 25.0},
		{"negative gauge unknown", math.IsNaN(stock.PoolActive), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !convEqual(tt.got, tt.want) {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestEnvoyRealNetdata(t *testing.T) {
	p := convReal(t, "envoy_netdata_testdata_envoy.prom")
	if !(envoy{}).Detect(p) {
		t.Fatal("not detected")
	}
	obs := envoy{}.Read(p)
	convCheckSane(t, obs)
	if len(obs) != 1 {
		t.Fatalf("want one cluster, got %+v", obs)
	}
	o := obs[0]
	tests := []struct {
		name      string
		got, want any
	}{
		{"cluster", o.Dependency, "service_envoyproxy_io"},
		{"no state made up", o.Breaker, model.BreakerUnknown},
		{"no limit reached", o.BreakerLimit, ""},
		{"no upstream_rq_time, no latency", o.Latency == nil, true},
		{"retries", o.Retries, 0.0},
		{"not in maintenance", o.ForcedRejections, 0.0},
		{"connections", o.PoolActive, 0.0},
		{"no upstream_rq_xx: no calls counted", len(o.Calls), 0},
		{"timeouts known, inside failures", o.TimedOutFailures, 0.0},
		{"no success made up", o.Calls[model.OutcomeSuccess] == 0 && !convHasCall(o, model.OutcomeSuccess), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !convEqual(tt.got, tt.want) {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func FuzzEnvoyRead(f *testing.F) {
	convFuzzProfile(f, envoy{}, convSeedFiles(f, "envoy")...)
}

func convHasCall(o model.Observation, out model.Outcome) bool {
	_, ok := o.Calls[out]
	return ok
}

// TestEnvoyReadsClustersInAnyOrder checks that where a family lists a
// cluster does not matter: Read looks a sample's cluster up where the
// previous family had it first, and must fall back to its name whenever
// that position holds another cluster (families in other orders, with
// clusters missing or added).
func TestEnvoyReadsClustersInAnyOrder(t *testing.T) {
	pages := map[string]string{
		"pressure":   convSeedText(t, "envoy/envoy_pressure.prom"),
		"istio":      convSeedText(t, "envoy/istio_codes.prom"),
		"envoy-like": string(scrapetest.EnvoyLikePage()),
	}
	for name, text := range pages {
		want := convJSON(envoy{}.Read(convMustParse(t, text)))
		for seed := range uint64(8) {
			t.Run(fmt.Sprintf("%s/%d", name, seed), func(t *testing.T) {
				p := convMustParse(t, text)
				rng := rand.New(rand.NewPCG(seed, 1))
				for i, f := range p.Families {
					ms := f.Metric
					switch {
					case seed == 0:
						// The same order, shifted by one in every other
						// family: each position holds another cluster.
						if i%2 == 1 && len(ms) > 1 {
							f.Metric = append(ms[1:len(ms):len(ms)], ms[0])
						}
					default:
						rng.Shuffle(len(ms), func(a, b int) { ms[a], ms[b] = ms[b], ms[a] })
					}
				}
				if got := convJSON(envoy{}.Read(p)); !bytes.Equal(got, want) {
					t.Errorf("families in another order read differently:\n%s\nwant\n%s", got, want)
				}
			})
		}
	}
}
