package ui

import (
	"fmt"
	"strings"
	"testing"

	"github.com/charmbracelet/x/exp/golden"

	"resiltop/internal/admin"
	"resiltop/internal/model"
)

// TestGoldenViews pins the screen, as plain text (testdata/TestGoldenViews,
// rewritten with -update), for the fixture at the
// four widths and the screens reachable from the overview, and for three
// replicas grouped by name at 80 and 120 columns.
func TestGoldenViews(t *testing.T) {
	sw := func(string) (admin.Switch, error) { return &fakeSwitch{}, nil }
	type size struct{ w, h int }
	sizes := []size{{40, 12}, {80, 24}, {120, 40}, {200, 60}}
	replicaSizes := []size{{80, 24}, {120, 40}}
	cases := []struct {
		name  string
		opts  Options
		keys  []string
		snap  func() *model.Snapshot // fixture when nil
		sizes []size                 // sizes when nil
	}{
		{name: "overview"},
		{name: "detail", keys: []string{"enter"}},
		{name: "detail-stale", keys: []string{"j", "j", "j", "enter"}},
		{name: "events", keys: []string{"e"}},
		{name: "help", keys: []string{"?"}},
		{name: "readonly-paused", opts: Options{ReadOnly: true}, keys: []string{"space"}},
		{name: "confirm", opts: Options{Switch: sw}, keys: []string{"j", "o"}},
		{name: "filter-error", keys: []string{"/", "(", "p"}},
		{name: "sorted-err", keys: []string{"s", "s", "s", "s", "t"}},
		{name: "replicas", snap: replicas, sizes: replicaSizes},
		{name: "replicas-grouped", snap: replicas, sizes: replicaSizes, keys: []string{"a"}},
		{name: "replicas-grouped-detail", snap: replicas, sizes: replicaSizes, keys: []string{"a", "enter"}},
		{name: "replicas-grouped-force", opts: Options{Switch: sw}, snap: replicas, sizes: replicaSizes, keys: []string{"a", "o"}},
	}
	for _, c := range cases {
		snap, szs := c.snap, c.sizes
		if snap == nil {
			snap = fixture
		}
		if szs == nil {
			szs = sizes
		}
		for _, sz := range szs {
			name := fmt.Sprintf("%s-%dx%d", c.name, sz.w, sz.h)
			t.Run(name, func(t *testing.T) {
				m := press(t, testModel(t, c.opts, sz.w, sz.h, snap()), c.keys...)
				got := screen(m)
				if n := strings.Count(got, "\n") + 1; n != sz.h {
					t.Errorf("view has %d lines, want %d", n, sz.h)
				}
				for i, line := range strings.Split(got, "\n") {
					if w := lineWidth(line); w > sz.w {
						t.Errorf("line %d is %d wide, more than %d: %q", i, w, sz.w, line)
					}
				}
				golden.RequireEqual(t, got)
			})
		}
	}
}
