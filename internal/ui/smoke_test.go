package ui

import (
	"bytes"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"resiltop/internal/admin"
	"resiltop/internal/model"
)

// TestSmokeProgram runs the real program: the first snapshot is drawn,
// an update refreshes the screen, a breaker is forced, q quits.
func TestSmokeProgram(t *testing.T) {
	updates := make(chan struct{}, 1)
	clk := &clock{t: t0}
	state := make(chan model.BreakerState, 1)
	state <- model.BreakerClosed
	snapshot := func(now time.Time, _ time.Duration) *model.Snapshot {
		s := <-state
		state <- s
		return withState(fixture(), now, "mail", s)
	}
	sw := &fakeSwitch{answer: "FORCED_OPEN"}
	opts := Options{
		Snapshot: snapshot, Updates: updates, Interval: time.Hour, Now: clk.Now, NoColor: true,
		Switch: func(string) (admin.Switch, error) { return sw, nil },
	}
	tm := teatest.NewTestModel(t, New(opts), teatest.WithInitialTermSize(120, 40))
	waitText(t, tm, "upstream_payments")
	tm.Type("jo")
	waitText(t, tm, "«mail»")
	clk.Add(time.Second)
	tm.Type("y")
	waitText(t, tm, "(pending)")
	<-state
	state <- model.BreakerForcedOpen
	clk.Add(time.Second)
	updates <- struct{}{}
	waitText(t, tm, "confirmed)")
	tm.Type("q")
	final := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(Model)
	if a := final.actions[depKey(tgtA, "mail")]; a.state != actConfirmed {
		t.Fatalf("action state %v, want confirmed", a.state)
	}
}

// TestSmokeDetail opens the detail view of a live program.
func TestSmokeDetail(t *testing.T) {
	opts := Options{
		Snapshot: func(time.Time, time.Duration) *model.Snapshot { return fixture() },
		Interval: time.Hour, NoColor: true, Now: func() time.Time { return t0 },
	}
	tm := teatest.NewTestModel(t, New(opts), teatest.WithInitialTermSize(120, 40))
	waitText(t, tm, "pg")
	tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
	waitText(t, tm, "heatmap")
	tm.Type("q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
}

// waitText waits for s in the program's output. The renderer writes only
// changed cells, so s should hold no spaces that may already be on screen.
func waitText(t *testing.T, tm *teatest.TestModel, s string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte(s)) },
		teatest.WithDuration(5*time.Second), teatest.WithCheckInterval(20*time.Millisecond))
}
