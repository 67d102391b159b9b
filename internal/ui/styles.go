package ui

import (
	"charm.land/lipgloss/v2"

	"resiltop/internal/model"
)

// styles holds every lipgloss style the UI uses, so colour decisions live in
// one place. In monochrome mode no style carries a colour: emphasis comes from
// bold, faint and reverse only, and meaning always from words and symbols.
type styles struct {
	title    lipgloss.Style
	dim      lipgloss.Style // stale rows, secondary text
	header   lipgloss.Style // column titles
	selected lipgloss.Style // the cursor row
	critical lipgloss.Style
	warning  lipgloss.Style
	ok       lipgloss.Style
	errText  lipgloss.Style // status-line errors
	info     lipgloss.Style
	dialog   lipgloss.Style // confirmation and menus
	breaker  map[model.BreakerState]lipgloss.Style
	limit    lipgloss.Style
	chart    lipgloss.Style
	timeout  lipgloss.Style // the timeout line in the latency chart
}

func newStyles(noColor bool) styles {
	base := lipgloss.NewStyle()
	s := styles{
		title:    base.Bold(true),
		dim:      base.Faint(true),
		header:   base.Bold(true).Underline(true),
		selected: base.Reverse(true),
		critical: base.Bold(true),
		warning:  base.Bold(true),
		ok:       base,
		errText:  base.Bold(true),
		info:     base,
		dialog:   base.Border(lipgloss.NormalBorder()).Padding(0, 1),
		limit:    base.Bold(true),
		chart:    base,
		timeout:  base.Faint(true),
	}
	s.breaker = map[model.BreakerState]lipgloss.Style{
		model.BreakerOpen:       base.Bold(true),
		model.BreakerForcedOpen: base.Bold(true),
		model.BreakerHalfOpen:   base.Bold(true),
	}
	if noColor {
		return s
	}
	red, yellow, green := lipgloss.Color("9"), lipgloss.Color("11"), lipgloss.Color("10")
	magenta, cyan := lipgloss.Color("13"), lipgloss.Color("14")
	s.title = s.title.Foreground(cyan)
	s.critical = s.critical.Foreground(red)
	s.warning = s.warning.Foreground(yellow)
	s.ok = s.ok.Foreground(green)
	s.errText = s.errText.Foreground(red)
	s.dialog = s.dialog.BorderForeground(yellow)
	s.limit = s.limit.Foreground(yellow)
	s.chart = s.chart.Foreground(cyan)
	s.timeout = s.timeout.Foreground(red)
	s.breaker[model.BreakerOpen] = s.breaker[model.BreakerOpen].Foreground(red)
	s.breaker[model.BreakerForcedOpen] = s.breaker[model.BreakerForcedOpen].Foreground(magenta)
	s.breaker[model.BreakerHalfOpen] = s.breaker[model.BreakerHalfOpen].Foreground(yellow)
	s.breaker[model.BreakerClosed] = base.Foreground(green)
	return s
}

// severity returns the style of a finding severity.
func (s styles) severity(sev model.Severity) lipgloss.Style {
	if sev == model.Critical {
		return s.critical
	}
	return s.warning
}
