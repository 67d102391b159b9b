package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"resiltop/internal/admin"
	"resiltop/internal/model"
)

// TestKeys checks what every key does to the model.
func TestKeys(t *testing.T) {
	scrapes := 0
	sc := &fakeScenarios{}
	opts := Options{
		ScrapeNow: func() { scrapes++ },
		Scenarios: sc,
		Snapshot:  func(time.Time, time.Duration) *model.Snapshot { return fixture() },
	}
	cases := []struct {
		name  string
		keys  []string
		check func(t *testing.T, m Model)
	}{
		{"j moves down", []string{"j"}, func(t *testing.T, m Model) { wantSel(t, m, "mail") }},
		{"down moves down", []string{"down", "down"}, func(t *testing.T, m Model) { wantSel(t, m, "stock") }},
		{"k moves up", []string{"j", "j", "k"}, func(t *testing.T, m Model) { wantSel(t, m, "mail") }},
		{"up stops at the top", []string{"up"}, func(t *testing.T, m Model) { wantSel(t, m, "pg") }},
		{"G goes to the bottom", []string{"G"}, func(t *testing.T, m Model) { wantSel(t, m, "cache") }},
		{"g goes to the top", []string{"G", "g"}, func(t *testing.T, m Model) { wantSel(t, m, "pg") }},
		{"enter opens the detail", []string{"j", "enter"}, func(t *testing.T, m Model) {
			if m.mode != modeDetail {
				t.Fatal("not in detail")
			}
			mustContain(t, screen(m), "mail @ 127.0.0.1:8080", "⊘ FORCED_OPEN since 09:26:23")
		}},
		{"esc leaves the detail", []string{"enter", "esc"}, func(t *testing.T, m Model) {
			if m.mode != modeOverview {
				t.Fatal("still in detail")
			}
		}},
		{"j in the detail moves to the next dependency", []string{"enter", "j"}, func(t *testing.T, m Model) {
			mustContain(t, screen(m), "mail @ 127.0.0.1:8080")
		}},
		{"/ filters by regex", []string{"/", "^", "s", "t", "enter"}, func(t *testing.T, m Model) {
			if n := len(m.table.view); n != 1 {
				t.Fatalf("%d rows, want 1 (stock)", n)
			}
			wantSel(t, m, "stock")
			mustContain(t, screen(m), "filter: ^st")
		}},
		{"! inverts the filter", []string{"/", "!", "p", "g", "enter"}, func(t *testing.T, m Model) {
			if n := len(m.table.view); n != 5 {
				t.Fatalf("%d rows, want 5", n)
			}
			mustNotContain(t, strings.Split(screen(m), "\n")[3], "pg ")
		}},
		{"invalid regex is an error, not a crash", []string{"/", "p", "g", "["}, func(t *testing.T, m Model) {
			mustContain(t, screen(m), "invalid filter")
			if n := len(m.table.view); n != 1 {
				t.Fatalf("%d rows, want the last valid filter (pg) to stay", n)
			}
		}},
		{"esc in the filter clears it", []string{"/", "p", "g", "esc"}, func(t *testing.T, m Model) {
			if n := len(m.table.view); n != 6 || m.filter.active {
				t.Fatalf("%d rows, active %v", n, m.filter.active)
			}
		}},
		{"q in the filter is text", []string{"/", "q"}, func(t *testing.T, m Model) {
			if m.filter.input.Value() != "q" {
				t.Fatalf("filter %q", m.filter.input.Value())
			}
		}},
		{"s cycles the sort column", []string{"j", "s"}, func(t *testing.T, m Model) {
			if got := sortKeys[m.table.sortIdx].name; got != "name" {
				t.Fatalf("sort %q", got)
			}
			wantSel(t, m, "mail") // a chosen selection follows its dependency
			if first := m.table.rows[m.table.view[0]].dep.Name; first != "cache" {
				t.Fatalf("first %q, want cache", first)
			}
		}},
		{"S reverses", []string{"s", "S"}, func(t *testing.T, m Model) {
			if first := m.table.rows[m.table.view[0]].dep.Name; first != "upstream_payments" {
				t.Fatalf("first %q", first)
			}
		}},
		{"space pauses and resumes", []string{"space"}, func(t *testing.T, m Model) {
			if !m.paused {
				t.Fatal("not paused")
			}
			mustContain(t, screen(m), "⏸ PAUSED at 09:26:53")
		}},
		{"+ widens the window", []string{"+"}, func(t *testing.T, m Model) { wantWindow(t, m, 5*time.Minute) }},
		{"+ stops at 15m", []string{"+", "+", "+", "+"}, func(t *testing.T, m Model) { wantWindow(t, m, 15*time.Minute) }},
		{"- narrows the window", []string{"-", "-"}, func(t *testing.T, m Model) { wantWindow(t, m, 30*time.Second) }},
		{"r scrapes now", []string{"r"}, func(t *testing.T, m Model) {
			if scrapes == 0 {
				t.Fatal("ScrapeNow not called")
			}
			mustContain(t, screen(m), "scrape requested")
		}},
		{"t toggles the trend", []string{"t"}, func(t *testing.T, m Model) {
			if m.table.spark != sparkErr {
				t.Fatal("trend not toggled")
			}
		}},
		{"e opens the event log", []string{"e"}, func(t *testing.T, m Model) {
			mustContain(t, screen(m), "09:24:50 127.0.0.1:8080 pg: breaker closed → open")
		}},
		{"e again closes it", []string{"e", "e"}, func(t *testing.T, m Model) {
			if m.mode != modeOverview {
				t.Fatal("event log still open")
			}
		}},
		{"? shows the full help, any key closes", []string{"?"}, func(t *testing.T, m Model) {
			mustContain(t, screen(m), "reverse sort", "+/-   window")
			m = press(t, m, "j")
			mustNotContain(t, screen(m), "reverse sort")
		}},
		{"f switches a scenario", []string{"f", "p", "enter", "o", "enter"}, func(t *testing.T, m Model) {
			if got := sc.Scenario("pg"); got != "outage" {
				t.Fatalf("pg scenario %q", got)
			}
			mustContain(t, screen(m), "pg: scenario outage")
		}},
		{"f menu shows the current scenario", []string{"f", "enter"}, func(t *testing.T, m Model) {
			mustContain(t, screen(m), "Scenario for pg:", "(current)")
		}},
		{"esc cancels the f menu", []string{"f", "esc"}, func(t *testing.T, m Model) {
			if m.menu.active {
				t.Fatal("menu still open")
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.check(t, press(t, testModel(t, opts, 120, 40, fixture()), c.keys...))
		})
	}
}

func TestQuitKeys(t *testing.T) {
	for _, k := range []string{"q", "ctrl+c"} {
		m := testModel(t, Options{}, 80, 24, fixture())
		_, cmd := m.Update(keyMsg(k))
		if cmd == nil {
			t.Fatalf("%s: no command", k)
		}
		if _, ok := cmd().(tea.QuitMsg); !ok {
			t.Fatalf("%s does not quit", k)
		}
	}
}

// TestPauseFreezesDisplay: data keeps arriving, the screen keeps the
// paused snapshot, navigation still works, resuming shows the newest.
func TestPauseFreezesDisplay(t *testing.T) {
	m := press(t, testModel(t, Options{}, 120, 40, fixture()), "space")
	later := withState(fixture(), t0.Add(5*time.Second), "pg", model.BreakerClosed)
	m = step(m, snapshotMsg{seq: 2, snap: later})
	mustContain(t, screen(m), "✖ OPEN")
	m = press(t, m, "j", "s")
	wantSel(t, m, "mail")
	if m.latest != later {
		t.Fatal("latest snapshot not kept while paused")
	}
	m = press(t, m, "space")
	if m.shown != later {
		t.Fatal("resume did not show the newest snapshot")
	}
}

func TestStaleSnapshotIgnored(t *testing.T) {
	m := testModel(t, Options{}, 80, 24, fixture())
	m = step(m, snapshotMsg{seq: 5, snap: fixture()})
	old := withState(fixture(), t0.Add(-time.Minute), "pg", model.BreakerClosed)
	m = step(m, snapshotMsg{seq: 3, snap: old})
	if m.shown == old {
		t.Fatal("an older fetch replaced a newer one")
	}
}

func TestReadOnlyRemovesAdminKeys(t *testing.T) {
	sw := &fakeSwitch{}
	m := testModel(t, Options{ReadOnly: true, Switch: func(string) (admin.Switch, error) { return sw, nil }}, 120, 40, fixture())
	m = press(t, m, "o", "y", "c", "y", "x", "y")
	if m.confirm.active || len(sw.calls) > 0 {
		t.Fatalf("read-only still switches: %v", sw.calls)
	}
	mustContain(t, screen(m), "READ-ONLY")
	mustNotContain(t, screen(m), "force open")
}

func TestEmptyAndTinyScreens(t *testing.T) {
	for _, sz := range [][2]int{{1, 1}, {10, 3}, {40, 12}} {
		m := testModel(t, Options{}, sz[0], sz[1], nil)
		if s := screen(m); strings.Count(s, "\n")+1 != sz[1] && sz[1] > 1 {
			t.Errorf("%v: %d lines", sz, strings.Count(s, "\n")+1)
		}
		m = step(m, snapshotMsg{seq: 1, snap: fixture()})
		_ = screen(press(t, m, "enter", "e", "?", "j"))
	}
	m := testModel(t, Options{}, 80, 24, nil)
	mustContain(t, screen(m), "waiting for the first scrape")
}

// TestAdminFlow walks the admin flow with a pinned clock.
func TestAdminFlow(t *testing.T) {
	cases := []struct {
		name   string
		sw     *fakeSwitch
		swErr  error
		keys   []string
		after  func(m Model, c *clock) Model
		want   []string
		absent []string
		calls  int
	}{
		{
			name: "confirmation names action, dependency and target",
			sw:   &fakeSwitch{}, keys: []string{"j", "o"},
			want: []string{"Force OPEN the breaker of «mail» on target http://127.0.0.1:8080/metrics?", "y = yes"},
		},
		{
			name: "any other key cancels",
			sw:   &fakeSwitch{}, keys: []string{"j", "o", "n"},
			want: []string{"Force OPEN mail: cancelled"}, absent: []string{"y = yes"},
		},
		{
			name: "success is pending until a scrape shows the state",
			sw:   &fakeSwitch{answer: "CLOSED"}, keys: []string{"c", "y"}, calls: 1,
			want: []string{"→ CLOSED (pending)"}, absent: []string{"confirmed"},
		},
		{
			name: "a later scrape confirms",
			sw:   &fakeSwitch{answer: "CLOSED"}, keys: []string{"c", "y"}, calls: 1,
			after: func(m Model, c *clock) Model {
				c.Add(2 * time.Second)
				return step(m, snapshotMsg{seq: 9, snap: withState(fixture(), c.Now(), "pg", model.BreakerClosed)})
			},
			want: []string{"pg: → CLOSED (confirmed)", "breaker CLOSED confirmed by scrape"},
		},
		{
			name: "not confirmed after 10 s",
			sw:   &fakeSwitch{answer: "CLOSED"}, keys: []string{"c", "y"}, calls: 1,
			after: func(m Model, c *clock) Model {
				c.Add(10 * time.Second)
				return step(m, tickMsg(c.Now()))
			},
			want: []string{"→ CLOSED (not confirmed)"},
		},
		{
			name: "401 in plain words",
			sw:   &fakeSwitch{err: admin.ErrUnauthorized}, keys: []string{"c", "y"}, calls: 1,
			want: []string{"not applied: the admin endpoint refused the token (401/403)"}, absent: []string{"→ CLOSED (pending)"},
		},
		{
			name: "unknown name in plain words",
			sw:   &fakeSwitch{err: admin.ErrUnknownName}, keys: []string{"c", "y"}, calls: 1,
			want: []string{"does not know this breaker"},
		},
		{
			name: "timeout is unknown, never failure",
			sw:   &fakeSwitch{block: true}, keys: []string{"c", "y"}, calls: 1,
			want: []string{"→ CLOSED (outcome unknown — verifying)"}, absent: []string{"CLOSE failed", "not applied"},
		},
		{
			name: "timeout then a scrape confirms",
			sw:   &fakeSwitch{block: true}, keys: []string{"c", "y"}, calls: 1,
			after: func(m Model, c *clock) Model {
				c.Add(3 * time.Second)
				return step(m, snapshotMsg{seq: 9, snap: withState(fixture(), c.Now(), "pg", model.BreakerClosed)})
			},
			want: []string{"→ CLOSED (confirmed)"},
		},
		{
			// Found by the admin soak: a gateway's 502 after the change took was shown as "not applied".
			name: "a 5xx leaves the outcome unknown",
			sw:   &fakeSwitch{err: fmt.Errorf("admin endpoint answered HTTP 502 Bad Gateway: %w", admin.ErrOutcomeUnknown)}, keys: []string{"c", "y"}, calls: 1,
			want:   []string{"→ CLOSED (outcome unknown — verifying)", "admin CLOSE: admin endpoint answered HTTP 502 Bad Gateway"},
			absent: []string{"not applied", "CLOSE failed"},
		},
		{
			name: "a 5xx then a scrape confirms",
			sw:   &fakeSwitch{err: fmt.Errorf("admin endpoint answered HTTP 502 Bad Gateway: %w", admin.ErrOutcomeUnknown)}, keys: []string{"c", "y"}, calls: 1,
			after: func(m Model, c *clock) Model {
				c.Add(2 * time.Second)
				return step(m, snapshotMsg{seq: 9, snap: withState(fixture(), c.Now(), "pg", model.BreakerClosed)})
			},
			want: []string{"→ CLOSED (confirmed)"},
		},
		{
			name: "a close is confirmed by a scrape with no breaker state (Envoy maintenance mode lifted)",
			sw:   &fakeSwitch{}, keys: []string{"c", "y"}, calls: 1,
			after: func(m Model, c *clock) Model {
				c.Add(2 * time.Second)
				return step(m, snapshotMsg{seq: 9, snap: withState(fixture(), c.Now(), "pg", model.BreakerUnknown)})
			},
			want: []string{"→ CLOSED (confirmed)"},
		},
		{
			name: "a force open is never confirmed by a scrape with no breaker state",
			sw:   &fakeSwitch{}, keys: []string{"o", "y"}, calls: 1,
			after: func(m Model, c *clock) Model {
				c.Add(2 * time.Second)
				return step(m, snapshotMsg{seq: 9, snap: withState(fixture(), c.Now(), "pg", model.BreakerUnknown)})
			},
			want: []string{"→ FORCED_OPEN (pending)"}, absent: []string{"confirmed"},
		},
		{
			name:  "a missing token explains how to provide one",
			swErr: admin.ErrNoToken, keys: []string{"o"},
			want: []string{"RESILTOP_ADMIN_TOKEN"}, absent: []string{"y = yes"},
		},
		{
			name: "disable asks for disabled",
			sw:   &fakeSwitch{}, keys: []string{"x", "y"}, calls: 1,
			want: []string{"→ DISABLED (pending)"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clk := &clock{t: t0}
			opts := Options{Now: clk.Now, Switch: func(string) (admin.Switch, error) {
				if c.swErr != nil {
					return nil, c.swErr
				}
				return c.sw, nil
			}}
			m := testModel(t, opts, 200, 60, fixture())
			m.timeout = 20 * time.Millisecond
			clk.Add(time.Second) // the fixture's scrape predates the action
			m = press(t, m, c.keys...)
			if c.after != nil {
				m = c.after(m, clk)
			}
			s := screen(press(t, m, "e")) + screen(m)
			mustContain(t, s, c.want...)
			mustNotContain(t, s, c.absent...)
			if c.sw != nil && len(c.sw.calls) != c.calls {
				t.Errorf("switch called %v, want %d calls", c.sw.calls, c.calls)
			}
		})
	}
}

// TestAdminCallHonoursTimeout runs the real command against a hung switch.
func TestAdminCallHonoursTimeout(t *testing.T) {
	sw := &fakeSwitch{block: true}
	m := testModel(t, Options{Switch: func(string) (admin.Switch, error) { return sw, nil }}, 80, 24, fixture())
	m.timeout = 30 * time.Millisecond
	m = press(t, m, "o")
	_, cmd := m.Update(keyMsg("y"))
	done, ok := cmd().(adminDoneMsg)
	if !ok || !errors.Is(done.err, context.DeadlineExceeded) {
		t.Fatalf("got %#v", done)
	}
}

func TestEventLogMergesUIEvents(t *testing.T) {
	m := testModel(t, Options{Scenarios: &fakeScenarios{}}, 120, 40, fixture())
	m = press(t, m, "f", "s", "enter", "b", "enter", "e")
	s := screen(m)
	mustContain(t, s, "09:26:48 127.0.0.1:8080 stock: breaker open → half_open", "09:26:53 demo stock: scenario set to blackhole")
	if strings.Index(s, "half_open") > strings.Index(s, "blackhole") {
		t.Fatal("events are not in time order")
	}
}

func TestBurstFromTheScenarioMenu(t *testing.T) {
	tests := []struct {
		name  string
		keys  []string
		burst int
		want  string
	}{
		{"f b enter sends a burst", []string{"f", "b", "enter"}, 1, "burst: 100 concurrent orders for 10s"},
		{"a second burst while one runs says why", []string{"f", "b", "enter", "f", "b", "enter"}, 2, "burst not sent: a burst is already running"},
		{"esc sends none", []string{"f", "b", "esc"}, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sc := &fakeScenarios{}
			m := press(t, testModel(t, Options{Scenarios: sc}, 120, 40, fixture()), tc.keys...)
			if sc.bursts != tc.burst || m.menu.active {
				t.Fatalf("bursts %d (want %d), menu open %v", sc.bursts, tc.burst, m.menu.active)
			}
			if tc.want != "" {
				mustContain(t, screen(m), tc.want)
				mustContain(t, screen(press(t, m, "e")), "demo "+tc.want)
			}
		})
	}
}

func TestScenarioError(t *testing.T) {
	m := testModel(t, Options{Scenarios: &fakeScenarios{}}, 120, 40, fixture())
	m = m.scenarioDone(scenarioDoneMsg{dep: "pg", name: "bogus", err: errors.New(`unknown scenario "bogus"`)})
	mustContain(t, screen(m), `scenario bogus for pg not set: unknown scenario "bogus"`)
}

func wantSel(t *testing.T, m Model, name string) {
	t.Helper()
	if got := m.selectedName(); got != name {
		t.Fatalf("selected %q, want %q", got, name)
	}
}

func wantWindow(t *testing.T, m Model, w time.Duration) {
	t.Helper()
	if m.window != w {
		t.Fatalf("window %v, want %v", m.window, w)
	}
	mustContain(t, screen(m), "window "+fmtDuration(w))
}

// TestABurstOfIngestsCostsOneRefresh: app.watch signals after every ingest
// (with 100 targets, every few ms); after a refresh the UI listens again
// only after the refresh gap, and the burst meanwhile collapses into one signal.
func TestABurstOfIngestsCostsOneRefresh(t *testing.T) {
	ch := make(chan struct{}, 1)
	m := newModel(Options{Updates: ch, Interval: 600 * time.Millisecond})
	if got := m.refreshGap(); got != 600*time.Millisecond {
		t.Fatalf("gap %v for a 600ms interval, want one interval", got)
	}
	if got := newModel(Options{Interval: 100 * time.Millisecond}).refreshGap(); got != minRefresh {
		t.Fatalf("gap %v for a 100ms interval, want the floor %v", got, minRefresh)
	}
	cmd := m.waitUpdates(m.refreshGap())
	for range 100 {
		select {
		case ch <- struct{}{}:
		default: // the app drops a signal when one is pending
		}
	}
	start := time.Now()
	if msg := cmd(); msg != (updatedMsg{}) {
		t.Fatalf("got %T, want updatedMsg", msg)
	}
	if waited := time.Since(start); waited < m.refreshGap() {
		t.Errorf("listened again after %v, want at least %v", waited, m.refreshGap())
	}
	select {
	case <-ch:
		t.Error("a second refresh is pending after one burst")
	default:
	}
	if _, cmd := m.Update(updatedMsg{}); cmd == nil {
		t.Error("an update signal issued no refresh")
	}
}

// TestTimerRefreshesOnlyWhenIngestsGoQuiet: with ingests flowing the timer
// adds no snapshot of its own; after two quiet intervals it refreshes, so
// ages keep ticking when no scrape lands.
func TestTimerRefreshesOnlyWhenIngestsGoQuiet(t *testing.T) {
	clk := &clock{t: t0}
	m := newModel(Options{Now: clk.Now, Updates: make(chan struct{}, 1), Interval: time.Second,
		Snapshot: func(time.Time, time.Duration) *model.Snapshot { return fixture() }})
	next, _ := m.Update(updatedMsg{})
	m = next.(Model)
	seq := m.seq
	clk.Add(1500 * time.Millisecond)
	next, _ = m.Update(tickMsg(clk.Now()))
	if m = next.(Model); m.seq != seq {
		t.Errorf("the timer refreshed 1.5 s after an ingest refresh")
	}
	clk.Add(time.Second)
	next, _ = m.Update(tickMsg(clk.Now()))
	if m = next.(Model); m.seq != seq+1 {
		t.Errorf("the timer did not refresh after 2.5 s without ingests")
	}
	quiet := newModel(Options{Now: clk.Now, Interval: time.Second,
		Snapshot: func(time.Time, time.Duration) *model.Snapshot { return fixture() }})
	next, _ = quiet.Update(tickMsg(clk.Now()))
	if next.(Model).seq != quiet.seq+1 {
		t.Errorf("without an Updates channel the timer must refresh every interval")
	}
}

// TestStatusLineExpires: an informational status line ("scrape requested")
// goes after statusLinger on the clock; an error stays.
func TestStatusLineExpires(t *testing.T) {
	clk := &clock{t: t0}
	m := testModel(t, Options{Now: clk.Now, ScrapeNow: func() {}}, 120, 40, fixture())
	m = press(t, m, "r")
	mustContain(t, screen(m), "scrape requested")
	clk.Add(statusLinger - time.Second)
	m = step(m, tickMsg(clk.Now()))
	mustContain(t, screen(m), "scrape requested")
	clk.Add(time.Second)
	m = step(m, tickMsg(clk.Now()))
	mustNotContain(t, screen(m), "scrape requested")

	m = press(t, m, "o") // no admin endpoint: an error
	const msg = "breaker actions are not available"
	mustContain(t, screen(m), msg)
	clk.Add(time.Minute)
	m = step(m, tickMsg(clk.Now()))
	mustContain(t, screen(m), msg)
}
