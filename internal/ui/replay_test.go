package ui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"resiltop/internal/admin"
	"resiltop/internal/model"
)

// fakeReplay records the controls the keys call.
type fakeReplay struct {
	calls []string
	state ReplayState
}

func (f *fakeReplay) State() ReplayState  { return f.state }
func (f *fakeReplay) TogglePause()        { f.calls = append(f.calls, "pause") }
func (f *fakeReplay) Step(n int)          { f.calls = append(f.calls, fmt.Sprintf("step %d", n)) }
func (f *fakeReplay) Faster()             { f.calls = append(f.calls, "faster") }
func (f *fakeReplay) Slower()             { f.calls = append(f.calls, "slower") }
func (f *fakeReplay) JumpFinding(dir int) { f.calls = append(f.calls, fmt.Sprintf("jump %d", dir)) }

// TestReplayKeys: in a replay space, ←/→, [/] and {/} drive the replay and
// the admin and scrape keys do nothing; live, the replay keys do nothing.
func TestReplayKeys(t *testing.T) {
	rp := &fakeReplay{state: ReplayState{Marked: true}}
	sw := &fakeSwitch{}
	scraped := false
	opts := Options{Replay: rp, ReadOnly: true, Switch: func(string) (admin.Switch, error) { return sw, nil },
		ScrapeNow: func() { scraped = true }}
	m := testModel(t, opts, 120, 40, fixture())
	m = press(t, m, "space", "right", "left", "[", "]", "{", "}", "o", "y", "r")
	want := []string{"pause", "step 1", "step -1", "slower", "faster", "jump -1", "jump 1"}
	if fmt.Sprint(rp.calls) != fmt.Sprint(want) {
		t.Errorf("calls %v, want %v", rp.calls, want)
	}
	if m.paused || m.confirm.active || len(sw.calls) > 0 || scraped {
		t.Errorf("paused %v, confirm %v, switched %v, scraped %v: want none in a replay", m.paused, m.confirm.active, sw.calls, scraped)
	}
	mustNotContain(t, screen(m), "READ-ONLY", "no admin endpoint")
	narrow := screen(testModel(t, opts, 80, 24, fixture()))
	mustContain(t, narrow, "space pause • ←/→ step • [/] speed • {/} finding changes")
	help := screen(press(t, m, "?"))
	mustContain(t, help, "←/→ step", "[/] speed", "{/} finding changes", "space pause")
	mustNotContain(t, help, "force open", "scrape now")

	// Before the finding changes are known, { and } say so instead of doing nothing.
	unmarked := &fakeReplay{}
	m = testModel(t, Options{Replay: unmarked}, 120, 40, nil)
	m = step(m, snapshotMsg{seq: 1, snap: fixture(), replay: &unmarked.state})
	m = press(t, m, "}")
	if len(unmarked.calls) > 0 {
		t.Errorf("jumped before the changes were known: %v", unmarked.calls)
	}
	mustContain(t, screen(m), "finding changes not known yet")

	live := testModel(t, Options{}, 120, 40, fixture())
	live = press(t, live, "right", "[", "}")
	mustNotContain(t, screen(press(t, live, "?")), "finding changes", "←/→")
}

// TestReplayHeader: the header shows the replayed time, the position, the
// speed and whether the replay is paused or at its end.
func TestReplayHeader(t *testing.T) {
	at := time.Date(2026, 11, 21, 3, 4, 5, 0, time.Local)
	tests := []struct {
		state ReplayState
		want  string
	}{
		{ReplayState{Now: at, Pos: 312, Total: 1200, Speed: 8, Paused: true}, "replay 03:04:05 · 312/1200 · ×8 · paused"},
		{ReplayState{Now: at, Pos: 5, Total: 1200, Speed: 0.25}, "replay 03:04:05 · 5/1200 · ×1/4 ·"},
		{ReplayState{Now: at, Pos: 1200, Total: 1200, Speed: 64}, "replay 03:04:05 · 1200/1200 · ×64 · end"},
		{ReplayState{Now: at, Pos: 7, Total: 9, Speed: 1, Err: "replay stopped at record 7: checksum"}, "replay stopped at record 7"},
	}
	for _, tt := range tests {
		m := testModel(t, Options{Replay: &fakeReplay{}}, 160, 40, nil)
		st := tt.state
		m = step(m, snapshotMsg{seq: 1, snap: fixture(), replay: &st})
		mustContain(t, screen(m), tt.want)
	}
}

// TestNoteInHeader: the source's note (the recording's size) shows in the header.
func TestNoteInHeader(t *testing.T) {
	m := testModel(t, Options{}, 160, 40, nil)
	m = step(m, snapshotMsg{seq: 1, snap: fixture(), note: "● rec 3.2 MiB"})
	mustContain(t, screen(m), "resiltop ● rec 3.2 MiB · ")
}

// TestHeaderKeepsCountsAt80: at 80 columns the finding counts stay on the
// header whatever sits before them (a paused replay's place, a recording's
// size, the pause marker): "every" and "window" give way first.
func TestHeaderKeepsCountsAt80(t *testing.T) {
	at := time.Date(2026, 11, 21, 3, 4, 5, 0, time.Local)
	crit, warn := 0, 0
	for _, f := range fixture().Findings {
		if f.Severity == model.Critical {
			crit++
		} else {
			warn++
		}
	}
	counts := []string{fmt.Sprintf("✖ %d critical", crit), fmt.Sprintf("▲ %d warning", warn)}
	replay := ReplayState{Now: at, Pos: 1199, Total: 1200, Speed: 1.0 / 64, Paused: true}
	tests := []struct {
		name string
		m    func() Model
		want []string
	}{
		{"paused replay", func() Model {
			m := testModel(t, Options{Replay: &fakeReplay{}}, 80, 24, nil)
			return step(m, snapshotMsg{seq: 1, snap: fixture(), replay: &replay})
		}, []string{"replay 03:04:05 · 1199/1200 · ×1/64 · paused"}},
		{"recording, paused, grouped", func() Model {
			m := testModel(t, Options{}, 80, 24, nil)
			m = step(m, snapshotMsg{seq: 1, snap: fixture(), note: "● rec 1023.9 MiB"})
			return press(t, m, "space", "a")
		}, []string{"● rec 1023.9 MiB", "PAUSED", "grouped"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			head := strings.SplitN(screen(tt.m()), "\n", 2)[0]
			for _, w := range append(tt.want, counts...) {
				if !strings.Contains(head, w) {
					t.Errorf("header lacks %q: %q", w, head)
				}
			}
		})
	}
}
