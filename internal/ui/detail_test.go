package ui

import (
	"strings"
	"testing"
	"time"

	"resiltop/internal/model"
)

// TestBreakerStripSpansTheWindow: the detail's breaker strip covers the
// same window as the charts above it, whatever the width, so a breaker
// closed for the window's first half and open for its second shows both
// halves, about equally wide (it used to show the last scrapes that fit,
// 23 seconds at 80 columns under a one-minute chart).
func TestBreakerStripSpansTheWindow(t *testing.T) {
	for _, width := range []int{80, 120, 200} {
		snap := fixture()
		snap.Window = time.Minute
		for i := range snap.Dependencies {
			h := history(120, snap.Time, 1, model.BreakerClosed, 0) // two windows: the first is not shown
			for j := 90; j < len(h); j++ {
				h[j].Breaker = model.BreakerOpen
			}
			snap.Dependencies[i].History = h
		}
		s := screen(press(t, testModel(t, Options{}, width, 40, snap), "enter"))
		var strip string
		for _, l := range strings.Split(s, "\n") {
			if rest, ok := strings.CutPrefix(l, "breaker "); ok {
				strip, _, _ = strings.Cut(rest, "  _ closed")
			}
		}
		closed, open := strings.Count(strip, "_"), strings.Count(strip, "█")
		if closed == 0 || open == 0 || closed+open < len([]rune(strip))-1 || (max(closed, open)-min(closed, open))*10 > closed+open {
			t.Errorf("%d columns: strip %q has %d closed and %d open cells, want the window's two halves:\n%s", width, strip, closed, open, s)
		}
	}
}
