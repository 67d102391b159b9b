package ui

import (
	"strings"

	"resiltop/internal/model"
)

// eventsModel is the `e` event log: transitions, target errors and the
// UI's own admin and scenario actions, newest at the bottom.
type eventsModel struct {
	offset int // lines scrolled up from the newest
}

func (e eventsModel) scroll(delta int) eventsModel {
	// Moving down (delta > 0) goes towards the newest line.
	e.offset = max(0, e.offset-delta)
	return e
}

// View shows the height lines ending offset lines before the newest.
func (e eventsModel) View(evs []model.Event, width, height int, st styles) string {
	if height <= 0 {
		return ""
	}
	if len(evs) == 0 {
		return st.dim.Render("no events yet")
	}
	end := max(0, len(evs)-e.offset)
	start := max(0, end-height)
	lines := make([]string, 0, end-start)
	for _, ev := range evs[start:end] {
		lines = append(lines, fit(eventLine(ev), width))
	}
	return strings.Join(lines, "\n")
}

// eventLine is "15:04:05 target dep: message".
func eventLine(ev model.Event) string {
	var b strings.Builder
	b.WriteString(ev.Time.Format("15:04:05"))
	b.WriteString(" ")
	if ev.Target != "" {
		b.WriteString(shortTarget(ev.Target))
		b.WriteString(" ")
	}
	if ev.Dependency != "" {
		b.WriteString(ev.Dependency)
		b.WriteString(": ")
	}
	b.WriteString(ev.Message)
	return b.String()
}
