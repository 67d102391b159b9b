package profile

import (
	"resiltop/internal/model"
	"testing"
)

func TestOtelGolden(t *testing.T) { convGolden(t, "otel", otel{}) }

func TestOtelSignals(t *testing.T) {
	obs := otel{}.Read(convMustParse(t, convSeedText(t, "otel/semconv_http_db.prom")))
	convCheckSane(t, obs)
	old := otel{}.Read(convMustParse(t, convSeedText(t, "otel/old_semconv.prom")))
	convCheckSane(t, old)
	by := map[string]model.Observation{}
	for _, o := range append(obs, old...) {
		by[o.Dependency] = o
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"scopes add up", by["pg.internal"].Calls[model.OutcomeSuccess], 10.0},
		{"5xx fails", by["pg.internal"].Calls[model.OutcomeFailure], 2.0},
		{"deadline is a timeout", by["pg.internal"].Calls[model.OutcomeTimeout], 3.0},
		{"4xx succeeds", by["mail.internal"].Calls[model.OutcomeSuccess], 5.0},
		{"transport error fails", by["mail.internal"].Calls[model.OutcomeFailure], 1.0},
		{"open connections active", by["pg.internal"].PoolActive, 6.0},
		{"active requests", by["pg.internal"].BulkheadInFlight, 5.0},
		{"db pool used", by["orders-db"].PoolActive, 9.0},
		{"db pool timeouts", by["orders-db"].PoolAcquireTimeouts, 2.0},
		{"ms bounds in seconds", by["stock.internal"].Latency.Bounds[:2], []float64{0.05, 0.25}},
		{"ms sum in seconds", by["stock.internal"].Latency.Sum, 0.92},
		{"old db pool max", by["HikariPool-1"].PoolMax, 10.0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !convEqual(tt.got, tt.want) {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func FuzzOtelRead(f *testing.F) {
	convFuzzProfile(f, otel{}, convSeedFiles(f, "otel")...)
}
