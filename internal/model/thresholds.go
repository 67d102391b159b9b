package model

import "time"

// Thresholds decide when a finding fires. The YAML names (config file,
// `thresholds:` section) are given in the tags.
type Thresholds struct {
	FlappingTransitions int           `yaml:"flapping_transitions"` // breaker_flapping: transitions …
	FlappingWindow      time.Duration `yaml:"flapping_window"`      // … within this long
	RetryRatioWarning   float64       `yaml:"retry_ratio"`          // retry_storm: retries / first attempts
	PoolExhaustedFor    time.Duration `yaml:"pool_exhausted_for"`   // pool_exhausted: in-use ≥ max or waiters > 0 this long
	BulkheadSaturation  float64       `yaml:"bulkhead_saturation"`  // bulkhead_saturated: in-flight / max
	TailNearTimeout     float64       `yaml:"tail_near_timeout"`    // tail_near_timeout: p99 / timeout
	TimeoutRatio        float64       `yaml:"timeout_ratio"`        // timeouts_rising: unknown outcomes / calls
	BacklogStaleAge     time.Duration `yaml:"backlog_stale_age"`    // backlog_stale: oldest PENDING older than this
}

// DefaultThresholds are the values the issues and docs promise.
func DefaultThresholds() Thresholds {
	return Thresholds{
		FlappingTransitions: 4,
		FlappingWindow:      5 * time.Minute,
		RetryRatioWarning:   0.5,
		PoolExhaustedFor:    5 * time.Second,
		BulkheadSaturation:  0.9,
		TailNearTimeout:     0.8,
		TimeoutRatio:        0.05,
		BacklogStaleAge:     5 * time.Minute,
	}
}
