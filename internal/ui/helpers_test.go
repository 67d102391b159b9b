package ui

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"resiltop/internal/model"
)

// testModel is a model at w×h with snap applied, a pinned clock and no
// colour.
func testModel(t testing.TB, opts Options, w, h int, snap *model.Snapshot) Model {
	t.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return t0 }
	}
	opts.NoColor = true
	if opts.Interval == 0 {
		opts.Interval = time.Second // Init is never run here, so no timer fires
	}
	m := newModel(opts)
	m = step(m, tea.WindowSizeMsg{Width: w, Height: h})
	if snap != nil {
		m = step(m, snapshotMsg{seq: 1, snap: snap})
	}
	return m
}

// step applies one message, discarding the command.
func step(m Model, msg tea.Msg) Model {
	next, _ := m.Update(msg)
	return next.(Model)
}

// press types keys ("j", "enter", "space", "ctrl+c", …), running the
// commands they return.
func press(t testing.TB, m Model, keys ...string) Model {
	t.Helper()
	for _, k := range keys {
		next, cmd := m.Update(keyMsg(k))
		m = run(t, next.(Model), cmd)
	}
	return m
}

func keyMsg(k string) tea.KeyPressMsg {
	switch k {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "space":
		return tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "left":
		return tea.KeyPressMsg{Code: tea.KeyLeft}
	case "right":
		return tea.KeyPressMsg{Code: tea.KeyRight}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	}
	r := []rune(k)[0]
	return tea.KeyPressMsg{Code: r, Text: k}
}

// run executes cmd and feeds back the UI's own messages. Timers, update
// waits and cursor blinks are left alone: each command gets a short time to
// answer, and only messages of this package are applied.
func run(t testing.TB, m Model, cmd tea.Cmd) Model {
	t.Helper()
	for _, msg := range collect(cmd) {
		switch msg.(type) {
		case snapshotMsg, switchResolvedMsg, adminDoneMsg, scenarioDoneMsg, burstDoneMsg, scrapeStartedMsg:
			next, more := m.Update(msg)
			m = run(t, next.(Model), more)
		}
	}
	return m
}

func collect(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	ch := make(chan tea.Msg, 1)
	go func() { ch <- cmd() }()
	select {
	case msg := <-ch:
		if b, ok := msg.(tea.BatchMsg); ok {
			var out []tea.Msg
			for _, c := range b {
				out = append(out, collect(c)...)
			}
			return out
		}
		if msg == nil {
			return nil
		}
		return []tea.Msg{msg}
	case <-time.After(300 * time.Millisecond):
		return nil
	}
}

// screen is the view as plain text.
func screen(m Model) string { return ansi.Strip(m.View().Content) }

func mustContain(t *testing.T, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("screen lacks %q:\n%s", sub, s)
		}
	}
}

func mustNotContain(t *testing.T, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			t.Errorf("screen has %q but must not:\n%s", sub, s)
		}
	}
}

func lineWidth(s string) int { return ansi.StringWidth(s) }
