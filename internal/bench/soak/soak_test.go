package main

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"resiltop/internal/admin"
	"resiltop/internal/model"
)

// short is the command line of a short soak: a few targets, checks every
// second, behaviours switching every 1–3 s.
func short(t *testing.T, extra ...string) config {
	t.Helper()
	args := append([]string{"-targets", "6", "-seed", "12", "-check", "1s", "-window", "5s",
		"-min-dwell", "1s", "-max-dwell", "3s"}, extra...)
	var stderr bytes.Buffer
	cfg, code := parseFlags(args, &stderr)
	if code >= 0 {
		t.Fatalf("flags %q: exit %d: %s", args, code, stderr.String())
	}
	return cfg
}

// TestShortSoak runs the harness itself for a few seconds: every
// behaviour in play, and every target healthy so that rates are compared
// with the truth. Each must pass, and each invariant must have been
// checked, not skipped.
func TestShortSoak(t *testing.T) {
	for _, tc := range []struct {
		name       string
		args       []string
		wantPassed []string
	}{
		{"every behaviour", []string{"-duration", "8s"},
			[]string{invRefresh, invScreen, invGoroutines, invHeap, invLeak}},
		{"healthy", []string{"-duration", "8s", "-interval", "500ms", "-faults", "healthy"},
			[]string{invRefresh, invRates, invScreen, invGoroutines, invHeap, invLeak}},
		{"broken histograms", []string{"-duration", "6s", "-faults", "broken-histogram"},
			[]string{invUnknown}},
		{"fleet mode", []string{"-prometheus", "-duration", "15s"},
			[]string{invRefresh, invScreen, invGoroutines, invHeap, invLeak}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if slices.Contains(tc.args, "-prometheus") {
				if _, err := exec.LookPath("prometheus"); err != nil {
					t.Skip("prometheus is not installed (Debian: apt-get install prometheus)")
				}
			}
			cfg := short(t, tc.args...)
			var out, errs bytes.Buffer
			if code := execute(cfg, &out, &errs); code != 0 {
				t.Fatalf("exit %d\n%s%s", code, out.String(), errs.String())
			}
			res := strings.TrimSpace(out.String())
			if !strings.HasSuffix(res, "PASS (seed 12)") || !strings.HasPrefix(res, "soak: seed 12,") {
				t.Errorf("output does not start with the seed and end in PASS:\n%s", res)
			}
			for _, inv := range tc.wantPassed {
				if !strings.Contains(res, inv) || strings.Contains(res, "  "+inv+strings.Repeat(" ", 41-len([]rune(inv)))+"0\n") {
					t.Errorf("invariant %q never checked:\n%s", inv, res)
				}
			}
		})
	}
}

// TestChecksFail injects each kind of defect and expects the soak to
// exit 1 naming the invariant it broke, with the seed to reproduce it.
func TestChecksFail(t *testing.T) {
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	var first *model.Snapshot
	for _, tc := range []struct {
		name   string
		args   []string
		inject func(*config)
		want   []string
	}{
		{"rates doubled by the store", []string{"-duration", "8s", "-interval", "500ms", "-faults", "healthy"}, func(c *config) {
			c.corrupt = func(s *model.Snapshot) *model.Snapshot {
				return edit(s, func(d *model.Dependency) { d.CallsPerSecond *= 2 })
			}
		}, []string{invRates + ": t00"}},
		{"a made-up p99 from a broken histogram", []string{"-duration", "6s", "-faults", "broken-histogram"}, func(c *config) {
			c.corrupt = func(s *model.Snapshot) *model.Snapshot {
				return edit(s, func(d *model.Dependency) { d.Latency.P99 = 0.123 })
			}
		}, []string{invUnknown + ": t00"}},
		{"the UI shows a number for an unknown", []string{"-duration", "4s", "-faults", "healthy"}, func(c *config) {
			c.misrender = func(s *model.Snapshot) *model.Snapshot {
				return edit(s, func(d *model.Dependency) {
					if !d.Latency.P50.Known() {
						d.Latency.P50 = 0.05
					}
				})
			}
		}, []string{invScreen + ": t00", "shows \"50ms\" for an unknown value"}},
		{"a frozen screen", []string{"-duration", "4s"}, func(c *config) {
			c.corrupt = func(s *model.Snapshot) *model.Snapshot {
				if first == nil {
					first = s
				}
				return first
			}
		}, []string{invRefresh + ": the screen did not change"}},
		{"leaks and bounds", []string{"-duration", "3s", "-max-heap-mib", "1", "-max-goroutines", "5"}, func(c *config) {
			c.leak = func() { <-stop }
		}, []string{invLeak + ": ", invHeap + ": heap in use", invGoroutines + ": "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := short(t, tc.args...)
			tc.inject(&cfg)
			var out, errs bytes.Buffer
			if code := execute(cfg, &out, &errs); code != 1 {
				t.Fatalf("exit %d, want 1\n%s%s", code, out.String(), errs.String())
			}
			res := out.String()
			for _, w := range append(tc.want, "FAIL: ", "go run ./internal/bench/soak -targets 6 ") {
				if !strings.Contains(res, w) {
					t.Errorf("output lacks %q:\n%s", w, res)
				}
			}
			if !strings.Contains(res, "-seed 12") {
				t.Errorf("no seed to reproduce with:\n%s", res)
			}
		})
	}
}

// edit returns a copy of s with f applied to every dependency.
func edit(s *model.Snapshot, f func(*model.Dependency)) *model.Snapshot {
	c := *s
	c.Dependencies = append([]model.Dependency(nil), s.Dependencies...)
	for i := range c.Dependencies {
		f(&c.Dependencies[i])
	}
	return &c
}

// TestAdminSoak runs a short admin soak, and injects the two wrong endings
// it exists to catch: "not applied" after a change that took (a switch
// that reports a gateway's 5xx as a plain failure, as before
// admin.ErrOutcomeUnknown) and "confirmed" of a change that did not take
// (a store that shows the breaker forced open whatever the page says).
func TestAdminSoak(t *testing.T) {
	for _, tc := range []struct {
		name   string
		inject func(*config)
		code   int
		want   string
	}{
		{"faults injected, endings right", func(*config) {}, 0, `PASS (seed 12): no wrong "confirmed", no wrong "not applied"`},
		{"a 5xx after the change reported as not applied", func(c *config) {
			c.wrapSwitch = func(sw admin.Switch) admin.Switch { return plainErrors{sw} }
		}, 1, "not applied, but pgsim's breaker went from"},
		{"a confirmation the page does not show", func(c *config) {
			c.corrupt = func(s *model.Snapshot) *model.Snapshot {
				return edit(s, func(d *model.Dependency) { d.Breaker.State = model.BreakerForcedOpen })
			}
		}, 1, "(FORCE_OPEN): confirmed, but pgsim's breaker is CLOSED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := short(t, "-admin", "-cycles", "60")
			tc.inject(&cfg)
			var out, errs bytes.Buffer
			if code := execute(cfg, &out, &errs); code != tc.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tc.code, out.String(), errs.String())
			}
			if !strings.Contains(out.String(), tc.want) {
				t.Errorf("output lacks %q:\n%s", tc.want, out.String())
			}
		})
	}
}

// plainErrors drops what an admin error wraps, keeping its words.
type plainErrors struct{ sw admin.Switch }

func (p plainErrors) Set(ctx context.Context, name string, a admin.Action) (string, error) {
	state, err := p.sw.Set(ctx, name, a)
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		err = errors.New(err.Error())
	}
	return state, err
}
