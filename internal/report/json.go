// Package report writes a model.Snapshot for people and programs: the JSON
// contract of `resiltop --once -o json` and the aligned plain-text table.
package report

import (
	"encoding/json"
	"io"
	"time"

	"resiltop/internal/model"
)

// number is a model.Value as JSON: null when unknown, never 0 or -1.
type number model.Value

func (n number) MarshalJSON() ([]byte, error) {
	if !model.Value(n).Known() {
		return []byte("null"), nil
	}
	return json.Marshal(float64(n))
}

// stamp is a time as RFC 3339, null when zero (unknown).
type stamp time.Time

func (s stamp) MarshalJSON() ([]byte, error) {
	t := time.Time(s)
	if t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(t.UTC().Format(time.RFC3339))
}

// The shapes below are the JSON contract (README, "JSON output"); field
// order and names are part of it.
type jsonSnapshot struct {
	Time          string           `json:"time"`
	WindowSeconds float64          `json:"window_seconds"`
	Targets       []jsonTarget     `json:"targets"`
	Dependencies  []jsonDependency `json:"dependencies"`
	// Findings lists every finding, worst first, with its target and
	// dependency: the only place a target that never answered (no
	// dependencies) shows its target_down.
	Findings []jsonTopFinding `json:"findings"`
}

type jsonTopFinding struct {
	Kind       model.FindingKind `json:"kind"`
	Severity   model.Severity    `json:"severity"`
	Target     string            `json:"target"`
	Dependency *string           `json:"dependency"` // null for a target-level finding
	Message    string            `json:"message"`
	Since      stamp             `json:"since"`
	Advice     string            `json:"advice"` // the next step to take
}

type jsonTarget struct {
	URL                   string   `json:"url"`
	Up                    bool     `json:"up"`
	Error                 *string  `json:"error"`
	ScrapeDurationSeconds number   `json:"scrape_duration_seconds"`
	Series                number   `json:"series"` // null until a scrape succeeds
	Profiles              []string `json:"profiles"`
	// Warnings are the source's non-fatal messages (Prometheus's warnings,
	// partial responses); [] when none.
	Warnings []string `json:"warnings"`
}

type jsonBreaker struct {
	State       model.BreakerState `json:"state"`
	Since       stamp              `json:"since"`
	Transitions number             `json:"transitions"`
	// FailureRate and SlowCallRate are the breaker's own rates in percent
	// (resilience4j), null when the target does not report or know them.
	FailureRate  number `json:"failure_rate"`
	SlowCallRate number `json:"slow_call_rate"`
	// Limit names a concurrency limit being hit (Envoy); only present then.
	Limit string `json:"limit,omitempty"`
}

type jsonLatency struct {
	P50  number `json:"p50"`
	P90  number `json:"p90"`
	P99  number `json:"p99"`
	P999 number `json:"p999"`
	// Mean is an average the target computed itself (HAProxy), as last
	// scraped; null where a convention exports none. Not a quantile.
	Mean number `json:"mean"`
}

type jsonPool struct {
	InUse   number `json:"in_use"`
	Max     number `json:"max"`
	Pending number `json:"pending"`
}

type jsonBulkhead struct {
	InFlight          number `json:"in_flight"`
	Max               number `json:"max"`
	RejectedPerSecond number `json:"rejected_per_second"`
}

type jsonPending struct {
	Count             number `json:"count"`
	OldestAgeSeconds  number `json:"oldest_age_seconds"`
	CreatedPerSecond  number `json:"created_per_second"`
	ResolvedPerSecond number `json:"resolved_per_second"`
}

type jsonFinding struct {
	Kind     model.FindingKind `json:"kind"`
	Severity model.Severity    `json:"severity"`
	Message  string            `json:"message"`
	Since    stamp             `json:"since"`
	Advice   string            `json:"advice"` // the next step to take
}

type jsonDependency struct {
	Target            string      `json:"target"`
	Name              string      `json:"name"`
	Profiles          []string    `json:"profiles"`
	Breaker           jsonBreaker `json:"breaker"`
	CallsPerSecond    number      `json:"calls_per_second"`
	ErrorRatio        number      `json:"error_ratio"`
	TimeoutsPerSecond number      `json:"timeouts_per_second"`
	RetriesPerSecond  number      `json:"retries_per_second"`
	RetryRatio        number      `json:"retry_ratio"`
	// UnsafeRetriesPerSecond are retries without an idempotency key; null
	// where the convention does not tell them apart.
	UnsafeRetriesPerSecond number        `json:"unsafe_retries_per_second"`
	LatencySeconds         jsonLatency   `json:"latency_seconds"`
	TimeoutSeconds         number        `json:"timeout_seconds"`
	Pool                   jsonPool      `json:"pool"`
	Bulkhead               jsonBulkhead  `json:"bulkhead"`
	Pending                jsonPending   `json:"pending"`
	Findings               []jsonFinding `json:"findings"`
}

// JSON writes the snapshot in the --once JSON contract, indented.
func JSON(w io.Writer, s *model.Snapshot) error {
	out := jsonSnapshot{
		Time:          s.Time.UTC().Format(time.RFC3339),
		WindowSeconds: s.Window.Seconds(),
		Targets:       make([]jsonTarget, 0, len(s.Targets)),
		Dependencies:  make([]jsonDependency, 0, len(s.Dependencies)),
	}
	for _, t := range s.Targets {
		jt := jsonTarget{
			URL: t.URL, Up: t.Up, Series: number(t.Series), Profiles: nonNil(t.Profiles), Warnings: nonNil(t.Warnings),
			ScrapeDurationSeconds: number(t.ScrapeDuration.Seconds()),
		}
		if t.LastScrape.IsZero() {
			jt.ScrapeDurationSeconds = number(model.Unknown())
		}
		if t.LastSuccess.IsZero() {
			jt.Series = number(model.Unknown())
		}
		if t.Err != "" {
			e := t.Err
			jt.Error = &e
		}
		out.Targets = append(out.Targets, jt)
	}
	for _, d := range s.Dependencies {
		jd := jsonDependency{
			Target: d.Target, Name: d.Name, Profiles: nonNil(d.Profiles),
			Breaker: jsonBreaker{
				State: d.Breaker.State, Since: stamp(d.Breaker.Since),
				Transitions: number(d.Breaker.Transitions), Limit: d.Breaker.Limit,
				FailureRate: number(d.Breaker.FailureRate), SlowCallRate: number(d.Breaker.SlowCallRate),
			},
			CallsPerSecond:         number(d.CallsPerSecond),
			ErrorRatio:             number(d.ErrorRatio),
			TimeoutsPerSecond:      number(d.TimeoutsPerSecond),
			RetriesPerSecond:       number(d.RetriesPerSecond),
			RetryRatio:             number(d.RetryRatio),
			UnsafeRetriesPerSecond: number(d.UnsafeRetriesPerSecond),
			LatencySeconds: jsonLatency{
				P50: number(d.Latency.P50), P90: number(d.Latency.P90),
				P99: number(d.Latency.P99), P999: number(d.Latency.P999),
				Mean: number(d.LatencyMean),
			},
			TimeoutSeconds: number(d.TimeoutSeconds),
			Pool:           jsonPool{InUse: number(d.Pool.InUse), Max: number(d.Pool.Max), Pending: number(d.Pool.Pending)},
			Bulkhead: jsonBulkhead{
				InFlight: number(d.Bulkhead.InFlight), Max: number(d.Bulkhead.Max),
				RejectedPerSecond: number(d.Bulkhead.RejectedPerSecond),
			},
			Pending: jsonPending{
				Count: number(d.Pending.Count), OldestAgeSeconds: number(d.Pending.OldestAgeSeconds),
				CreatedPerSecond: number(d.Pending.CreatedPerSecond), ResolvedPerSecond: number(d.Pending.ResolvedPerSecond),
			},
			Findings: make([]jsonFinding, 0, len(d.Findings)),
		}
		if jd.Breaker.State == "" {
			jd.Breaker.State = model.BreakerUnknown
		}
		for _, f := range d.Findings {
			jd.Findings = append(jd.Findings, jsonFinding{Kind: f.Kind, Severity: f.Severity, Message: f.Message, Since: stamp(f.Since), Advice: f.Advice})
		}
		out.Dependencies = append(out.Dependencies, jd)
	}
	out.Findings = make([]jsonTopFinding, 0, len(s.Findings))
	for _, f := range s.Findings {
		jf := jsonTopFinding{Kind: f.Kind, Severity: f.Severity, Target: f.Target, Message: f.Message, Since: stamp(f.Since), Advice: f.Advice}
		if f.Dependency != "" {
			dep := f.Dependency
			jf.Dependency = &dep
		}
		out.Findings = append(out.Findings, jf)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// nonNil keeps empty lists as [] rather than null: a list is never unknown.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
