package app

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"resiltop/internal/pgsim"
	"resiltop/internal/scrape/scrapetest"
)

// onceOutput is the part of the --once JSON contract these tests read.
type onceOutput struct {
	Targets []struct {
		URL   string  `json:"url"`
		Up    bool    `json:"up"`
		Error *string `json:"error"`
	} `json:"targets"`
	Dependencies []onceDependency `json:"dependencies"`
}

type onceDependency struct {
	Name    string `json:"name"`
	Breaker struct {
		State string `json:"state"`
	} `json:"breaker"`
	CallsPerSecond         *float64 `json:"calls_per_second"`
	ErrorRatio             *float64 `json:"error_ratio"`
	TimeoutsPerSecond      *float64 `json:"timeouts_per_second"`
	RetriesPerSecond       *float64 `json:"retries_per_second"`
	UnsafeRetriesPerSecond *float64 `json:"unsafe_retries_per_second"`
	Pending                struct {
		Count *float64 `json:"count"`
	} `json:"pending"`
	Findings []struct {
		Kind     string `json:"kind"`
		Severity string `json:"severity"`
		Message  string `json:"message"`
		Advice   string `json:"advice"`
	} `json:"findings"`
}

func run(t *testing.T, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(ctx, args, Env{Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }})
	return code, out.String(), errOut.String()
}

func TestUsage(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"no target", nil, ExitUsage, "", "no target"},
		{"bad output", []string{"--target", "http://127.0.0.1:1/metrics", "-o", "xml"}, ExitUsage, "", "use table or json"},
		{"token as a flag", []string{"--admin-token", "s3cret"}, ExitUsage, "", "never a flag"},
		{"not a URL", []string{"--target", "ftp://x"}, ExitUsage, "", "ftp://x"},
		{"help", []string{"-h"}, ExitOK, "--target", ""},
		{"unknown profile", []string{"--target", "http://127.0.0.1:1/metrics", "--profile", "nosuch"}, ExitUsage, "", "Run 'resiltop -h'"},
		{"credentials in a URL", []string{"--target", "http://u:s3cret@127.0.0.1:1/metrics"}, ExitUsage, "", "--basic-auth-user"},
		{"report help", []string{"report", "-h"}, ExitOK, "Usage: resiltop report FILE", ""},
		{"report without a file", []string{"report"}, ExitUsage, "", "name a recording"},
		{"report bad output", []string{"report", "x.rec", "-o", "pdf"}, ExitUsage, "", "use md or html"},
		{"replay a missing file", []string{"--replay", "/nonexistent/x.rec"}, ExitUsage, "", "no such file"},
		{"at without replay", []string{"--once", "--target", "http://127.0.0.1:1/metrics", "--at", "2026-11-21T03:04:05Z"}, ExitUsage, "", "--at needs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(t, context.Background(), tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.code, errOut)
			}
			if !strings.Contains(out, tt.stdout) || !strings.Contains(errOut, tt.stderr) {
				t.Errorf("stdout %q / stderr %q, want them to contain %q / %q", out, errOut, tt.stdout, tt.stderr)
			}
			if strings.Contains(out+errOut, "s3cret") {
				t.Error("the token was echoed")
			}
		})
	}
}

// closedURL returns a loopback metrics URL nobody listens on.
func closedURL(t *testing.T) string { return "http://" + scrapetest.ClosedAddr(t) + "/metrics" }

func startSim(t *testing.T, rps float64, scenarios map[string]string) *pgsim.Sim {
	t.Helper()
	return startSimConfig(t, pgsim.Config{RPS: rps, Scenarios: scenarios, Seed: 1})
}

// startSimConfig starts pgsim on ephemeral loopback ports and closes it
// when the test ends.
func startSimConfig(t *testing.T, cfg pgsim.Config) *pgsim.Sim {
	t.Helper()
	sim, err := pgsim.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	return sim
}

func TestOnceDownTargetExits3AndOthersStillReport(t *testing.T) {
	sim := startSim(t, 10, nil)
	dead := closedURL(t)
	code, out, errOut := run(t, context.Background(), "--once", "-o", "json", "--interval", "200ms",
		"--target", dead, "--target", sim.MetricsURL)
	if code != ExitTargetDown {
		t.Fatalf("exit %d, want %d; stderr %s", code, ExitTargetDown, errOut)
	}
	var doc onceOutput
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	var down, up bool
	for _, tg := range doc.Targets {
		if tg.URL == dead && !tg.Up && tg.Error != nil && strings.Contains(*tg.Error, "refused") {
			down = true
		}
		if tg.URL == sim.MetricsURL && tg.Up && tg.Error == nil {
			up = true
		}
	}
	if !down || !up {
		t.Errorf("want the dead target down with 'refused' and pgsim up; got %+v", doc.Targets)
	}
	for _, want := range []string{"pg", "mail", "stock"} {
		if !slices.ContainsFunc(doc.Dependencies, func(d onceDependency) bool { return d.Name == want }) {
			t.Errorf("dependency %s missing from the healthy target", want)
		}
	}
}

func TestNotATerminalPrintsTheTable(t *testing.T) {
	sim := startSim(t, 5, nil)
	code, out, errOut := run(t, context.Background(), "--interval", "200ms", "--target", sim.MetricsURL)
	if code != ExitOK {
		t.Fatalf("exit %d; stderr %s", code, errOut)
	}
	for _, want := range []string{"NAME", "BREAKER", "pg", "mail", "stock"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

// TestOnceFindsEachScenario is the engine's end-to-end promise: against a
// real pgsim, each scenario shows up as its finding on pg. A scenario needs
// a few seconds to show (timeouts take 3 s, a breaker needs failures), so
// --once is repeated until the finding appears or the deadline passes.
func TestOnceFindsEachScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("runs pgsim scenarios for up to a minute")
	}
	tests := []struct {
		scenario string
		rps      float64
		want     []string // finding kinds on pg, all at once
		failOn   string
		code     int
	}{
		{"outage", 20, []string{"breaker_open"}, "critical", ExitFindings},
		{"blackhole", 20, []string{"timeouts_rising", "backlog_growing"}, "", ExitOK},
		{"slow", 20, []string{"tail_near_timeout"}, "", ExitOK},
		{"flaky", 40, []string{"retry_storm"}, "", ExitOK},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, tt.rps, map[string]string{"pg": tt.scenario})
			args := []string{"--once", "-o", "json", "--interval", "2s", "--target", sim.MetricsURL}
			if tt.failOn != "" {
				args = append(args, "--fail-on", tt.failOn)
			}
			deadline := time.Now().Add(45 * time.Second)
			var last string
			for time.Now().Before(deadline) {
				code, out, errOut := run(t, context.Background(), args...)
				var doc onceOutput
				if err := json.Unmarshal([]byte(out), &doc); err != nil {
					t.Fatalf("exit %d, output is not JSON: %v\n%s%s", code, err, out, errOut)
				}
				last = out
				var kinds []string
				for _, d := range doc.Dependencies {
					if d.Name != "pg" {
						continue
					}
					for _, f := range d.Findings {
						kinds = append(kinds, f.Kind)
					}
				}
				if containsAll(kinds, tt.want) {
					if code != tt.code {
						t.Errorf("exit %d, want %d", code, tt.code)
					}
					return
				}
			}
			t.Fatalf("no %v on pg within the deadline; last output:\n%s", tt.want, last)
		})
	}
}

// TestSteadyIsQuiet guards the other side: with every dependency steady the
// breakers stay closed and nothing critical is reported about them.
func TestSteadyIsQuiet(t *testing.T) {
	sim := startSim(t, 20, nil)
	time.Sleep(3 * time.Second) // let the first payments settle
	code, out, errOut := run(t, context.Background(), "--once", "-o", "json", "--interval", "2s",
		"--target", sim.MetricsURL, "--fail-on", "critical")
	var doc onceOutput
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("exit %d: %v\n%s%s", code, err, out, errOut)
	}
	if len(doc.Dependencies) != 4 {
		t.Fatalf("want pg, mail, stock and db, got %s", out)
	}
	for _, d := range doc.Dependencies {
		// The db pool has no breaker: unknown, never made up.
		if want := map[bool]string{true: "unknown", false: "closed"}[d.Name == "db"]; d.Breaker.State != want {
			t.Errorf("%s breaker %s under steady, want %s", d.Name, d.Breaker.State, want)
		}
		if d.CallsPerSecond == nil || *d.CallsPerSecond <= 0 {
			t.Errorf("%s has no call rate under steady load", d.Name)
		}
		for _, f := range d.Findings {
			if f.Severity == "critical" {
				t.Errorf("%s: critical finding under steady: %s", d.Name, f.Message)
			}
		}
	}
	if code != ExitOK {
		t.Errorf("exit %d under steady with --fail-on critical", code)
	}
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

func TestOnceInterruptedSaysSo(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	code, _, errOut := run(t, ctx, "--once", "--interval", "10s", "--target", closedURL(t))
	if code != ExitFailure || !strings.Contains(errOut, "interrupted") {
		t.Errorf("exit %d, stderr %q; want %d and a word that it was interrupted", code, errOut, ExitFailure)
	}
}

// onceUntil runs --once against target until ok accepts its output or the
// deadline passes, and returns the last output.
func onceUntil(t *testing.T, deadline time.Duration, ok func(map[string]onceDependency) bool, args ...string) map[string]onceDependency {
	t.Helper()
	end := time.Now().Add(deadline)
	for {
		code, out, errOut := run(t, context.Background(), append([]string{"--once", "-o", "json"}, args...)...)
		var doc onceOutput
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("exit %d, output is not JSON: %v\n%s%s", code, err, out, errOut)
		}
		deps := map[string]onceDependency{}
		for _, d := range doc.Dependencies {
			deps[d.Name] = d
		}
		if ok(deps) || time.Now().After(end) {
			return deps
		}
	}
}

func kinds(d onceDependency) []string {
	var out []string
	for _, f := range d.Findings {
		out = append(out, f.Kind)
	}
	return out
}

// TestOnceShowsTheLessons drives pgsim's lessons through resiltop's --once:
// the db pool drained by a slow pg (pool_exhausted on db, the cause on pg)
// and not with the fix; unsafe retries only without keys; a proxy's hidden
// retries on pg-proxy with none on pg.
func TestOnceShowsTheLessons(t *testing.T) {
	if testing.Short() {
		t.Skip("runs pgsim for up to half a minute")
	}
	// Breakers stay closed: the lessons are elsewhere (an open pg breaker
	// ends the db pool's drain, as it should).
	closed := pgsim.Timing{BreakerMinCalls: 10000}
	tests := []struct {
		name     string
		cfg      pgsim.Config
		interval string // pool_exhausted needs 5 s of exhaustion: two scrapes 6 s apart
		// want and never are finding kinds per dependency.
		want, never map[string][]string
		check       func(t *testing.T, deps map[string]onceDependency)
	}{
		{
			name:     "db held across a slow pg",
			cfg:      pgsim.Config{RPS: 20, Timing: closed, Scenarios: map[string]string{"pg": "slow"}},
			interval: "6s",
			want:     map[string][]string{"db": {"pool_exhausted"}, "pg": {"tail_near_timeout"}},
		},
		{
			name:     "db released before a slow pg",
			cfg:      pgsim.Config{RPS: 20, ReleaseDBBeforeCall: true, Timing: closed, Scenarios: map[string]string{"pg": "slow"}},
			interval: "6s",
			want:     map[string][]string{"pg": {"tail_near_timeout"}},
			never:    map[string][]string{"db": {"pool_exhausted"}},
		},
		{
			name:     "flaky without keys",
			cfg:      pgsim.Config{RPS: 20, NoIdempotencyKeys: true, Timing: closed, Scenarios: map[string]string{"pg": "flaky"}},
			interval: "2s",
			want:     map[string][]string{"pg": {"unsafe_retries"}},
		},
		{
			name:     "flaky with keys",
			cfg:      pgsim.Config{RPS: 20, Timing: closed, Scenarios: map[string]string{"pg": "flaky"}},
			interval: "2s",
			want:     map[string][]string{"pg": {"retry_storm"}},
			never:    map[string][]string{"pg": {"unsafe_retries"}, "stock": {"unsafe_retries"}, "mail": {"unsafe_retries"}},
		},
		{
			name: "a proxy's hidden retries",
			cfg: pgsim.Config{RPS: 20, ViaProxy: true, MaxAttempts: 1, NoIdempotencyKeys: true, Timing: closed,
				Scenarios: map[string]string{"pg": "slow"}},
			interval: "2s",
			want:     map[string][]string{"pg-proxy": {"unsafe_retries"}},
			never:    map[string][]string{"pg": {"unsafe_retries", "retry_storm"}},
			check: func(t *testing.T, deps map[string]onceDependency) {
				if r := deps["pg"].RetriesPerSecond; r == nil || *r != 0 {
					t.Errorf("pg retries/s %v, want 0: the order client retried nothing", r)
				}
				if r := deps["pg-proxy"].RetriesPerSecond; r == nil || *r <= 0 {
					t.Errorf("pg-proxy retries/s %v, want > 0", r)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.cfg.Seed = 1
			sim := startSimConfig(t, tt.cfg)
			has := func(deps map[string]onceDependency) bool {
				for dep, want := range tt.want {
					if !containsAll(kinds(deps[dep]), want) {
						return false
					}
				}
				return true
			}
			deps := onceUntil(t, 30*time.Second, has, "--interval", tt.interval, "--target", sim.MetricsURL)
			if !has(deps) {
				for dep, want := range tt.want {
					t.Errorf("%s findings %v, want %v", dep, kinds(deps[dep]), want)
				}
			}
			for dep, never := range tt.never {
				for _, k := range never {
					if slices.Contains(kinds(deps[dep]), k) {
						t.Errorf("%s has %s: %v", dep, k, deps[dep].Findings)
					}
				}
			}
			if tt.check != nil {
				tt.check(t, deps)
			}
		})
	}
}
