package format

import (
	"math"
	"testing"
	"time"

	"resiltop/internal/model"
)

func TestFormatters(t *testing.T) {
	nan := model.Value(math.NaN())
	inf := model.Value(math.Inf(1))
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"rate unknown", Rate(nan), "—"},
		{"rate inf is unknown", Rate(inf), "—"},
		{"rate zero", Rate(0), "0"},
		{"rate small", Rate(0.004), "0.004"},
		{"rate cents", Rate(0.05), "0.05"},
		{"rate", Rate(1.234), "1.23"},
		{"rate tens", Rate(14.25), "14.2"},
		{"rate whole tens", Rate(20), "20"},
		{"rate hundreds", Rate(1234.4), "1234"},
		{"count", Count(32), "32"},
		{"count fraction", Count(2.5), "2.5"},
		{"count unknown", Count(nan), "—"},
		{"percent zero", Percent(0), "0%"},
		{"percent tiny", Percent(0.0004), "<0.1%"},
		{"percent small", Percent(0.064), "6.4%"},
		{"percent", Percent(0.4), "40%"},
		{"percent above one", Percent(1.45), "145%"},
		{"percent unknown", Percent(nan), "—"},
		{"seconds µs", Seconds(0.00085), "850µs"},
		{"seconds ms", Seconds(0.042), "42ms"},
		{"seconds ms fraction", Seconds(0.0025), "2.5ms"},
		{"seconds s", Seconds(2.4), "2.4s"},
		{"seconds zero", Seconds(0), "0"},
		{"seconds unknown", Seconds(nan), "—"},
		{"age seconds", Age(4 * time.Second), "4s"},
		{"age negative", Age(-time.Second), "0s"},
		{"age minutes", Age(192 * time.Second), "3m12s"},
		{"age hours", Age(2*time.Hour + 5*time.Minute), "2h05m"},
		{"age gauge", AgeSeconds(75), "1m15s"},
		{"age gauge unknown", AgeSeconds(nan), "—"},
		{"used", Used(20, 32), "20/32"},
		{"used half known", Used(3, nan), "3/—"},
		{"used unknown", Used(nan, nan), "—"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

func TestBreaker(t *testing.T) {
	tests := []struct {
		in   model.Breaker
		want string
	}{
		{model.Breaker{State: model.BreakerForcedOpen}, "FORCED_OPEN"},
		{model.Breaker{State: model.BreakerHalfOpen}, "HALF_OPEN"},
		{model.Breaker{State: model.BreakerUnknown}, "—"},
		{model.Breaker{}, "—"},
		{model.Breaker{State: model.BreakerUnknown, Limit: "pending"}, "LIMIT(pending)"},
	}
	for _, tt := range tests {
		if got := Breaker(tt.in); got != tt.want {
			t.Errorf("Breaker(%+v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
