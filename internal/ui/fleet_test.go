package ui

import (
	"strings"
	"testing"
	"time"

	"resiltop/internal/admin"
	"resiltop/internal/model"
)

// TestFleetHeader: in fleet mode the Prometheus server is shown as the
// source ("via …", no convention list), and its warnings reach the header.
func TestFleetHeader(t *testing.T) {
	snap := fixture()
	snap.Targets = append(snap.Targets, model.TargetHealth{
		URL: "http://127.0.0.1:9090", Up: true, Source: true, LastScrape: t0, ScrapeDuration: 34 * time.Millisecond,
		Warnings: []string{"partial response: some of the data is missing", "store 2 down"},
	})
	s := screen(testModel(t, Options{}, 240, 40, snap))
	mustContain(t, s, "✓ via 127.0.0.1:9090 0s ago (34ms)", "⚠ partial response: some of the data is missing (+1 more)")
	mustNotContain(t, s, "via 127.0.0.1:9090 0s ago (34ms) [")
	// The source comes first in the target line, so a narrow screen or a
	// long fleet does not push it (and its query time) off.
	s = screen(testModel(t, Options{}, 80, 24, snap))
	mustContain(t, strings.Split(s, "\n")[1], "✓ via 127.0.0.1:9090 0s ago (34ms)")
}

// TestConfirmGrace: fleet mode waits one Prometheus scrape interval more
// before an admin action reads "not confirmed".
func TestConfirmGrace(t *testing.T) {
	for _, c := range []struct {
		grace time.Duration
		want  string
	}{{0, "(not confirmed)"}, {15 * time.Second, "(pending)"}} {
		clk := &clock{t: t0}
		sw := &fakeSwitch{answer: "CLOSED"}
		opts := Options{Now: clk.Now, ConfirmGrace: c.grace, Switch: func(string) (admin.Switch, error) { return sw, nil }}
		m := testModel(t, opts, 200, 60, fixture())
		clk.Add(time.Second)
		m = press(t, m, "c", "y")
		clk.Add(12 * time.Second)
		m = step(m, tickMsg(clk.Now()))
		mustContain(t, screen(m), "→ CLOSED "+c.want)
	}
}
