package ui

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"resiltop/internal/format"
	"resiltop/internal/model"
)

// heights is how the screen's lines are shared out.
type heights struct {
	header, body, findings, overlay, status, footer int
}

// measure shares the height: header and footer first, then dialogs and the
// status line, then findings, and the table or detail gets the rest.
func (m Model) measure() heights {
	var h heights
	h.footer = 1
	h.header = 1
	if m.height >= 16 && m.shown != nil && len(m.shown.Targets) > 0 {
		h.header = 2
	}
	if m.statusLine() != "" {
		h.status = 1
	}
	if ov := m.overlay(); ov != "" {
		h.overlay = strings.Count(ov, "\n") + 1
	}
	if m.mode == modeOverview && m.shown != nil && len(m.shown.Findings) > 0 {
		n := len(m.shown.Findings)
		switch {
		case m.height >= 30:
			h.findings = min(n, max(3, m.height/5))
		case m.height >= 20:
			h.findings = min(n, 3)
		case m.height >= 14:
			h.findings = min(n, 2)
		default:
			h.findings = 1
		}
	}
	h.body = m.height - h.header - h.footer - h.status - h.overlay - h.findings
	if m.mode == modeOverview && m.shown != nil { // findings take what the rows leave free
		if spare := h.body - (len(m.table.view) + 1); spare > 0 {
			extra := min(spare, len(m.shown.Findings)-h.findings)
			h.findings += extra
			h.body -= extra
		}
	}
	if h.body < 2 && h.findings > 0 { // the table matters more than the findings
		h.findings = max(0, h.findings-(2-h.body))
		h.body = m.height - h.header - h.footer - h.status - h.overlay - h.findings
	}
	h.body = max(0, h.body)
	return h
}

// relayout applies the current size: table height, detail content.
func (m Model) relayout() Model {
	h := m.measure()
	m.table = m.table.setHeight(h.body - 1)
	if m.mode == modeDetail {
		var dep *model.Dependency
		note, group := "", ""
		if r := m.table.selected(); r != nil {
			dep = r.dep
			if len(dep.Members) > 1 {
				// A grouped row's detail is its worst member's: charts and
				// events are per target, and the worst is what to look at.
				group = fmt.Sprintf("worst of %d grouped targets (a ungroups): %s", len(dep.Members), shortTargets(dep.Members))
				dep = m.member(dep.Name, dep.Members[0])
			}
			if dep != nil {
				note = m.notes()[depKey(dep.Target, dep.Name)]
			}
		}
		m.detail = m.detail.build(m.shown, dep, m.allEvents(), note, group, m.width, h.body, m.st, m.opts.NoColor)
	}
	return m
}

// member finds target's dependency name in the shown snapshot.
func (m Model) member(name, target string) *model.Dependency {
	for i := range m.shown.Dependencies {
		if d := &m.shown.Dependencies[i]; d.Name == name && d.Target == target {
			return d
		}
	}
	return nil
}

// shortTargets lists targets as a grouped row names them.
func shortTargets(urls []string) string {
	short := make([]string, len(urls))
	for i, u := range urls {
		short[i] = shortTarget(u)
	}
	return strings.Join(short, ", ")
}

// View renders the whole screen.
func (m Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	if m.opts.Mouse {
		v.MouseMode = tea.MouseModeCellMotion
	}
	v.WindowTitle = "resiltop"
	return v
}

func (m Model) render() string {
	if m.width <= 0 || m.height <= 0 {
		return ""
	}
	h := m.measure()
	parts := make([]string, 0, 6)
	parts = append(parts, m.headerView(h.header))
	switch {
	case m.help.ShowAll:
		parts = append(parts, clip(m.fullHelp(h.body+h.findings), h.body+h.findings, m.width))
	case m.mode == modeDetail:
		parts = append(parts, m.detail.content)
	case m.mode == modeEvents:
		parts = append(parts, m.events.View(m.allEvents(), m.width, h.body, m.st))
	default:
		parts = append(parts, m.table.View(m.width, m.st, m.notes()))
		if h.findings > 0 {
			parts = append(parts, m.findingsView(h.findings))
		}
	}
	if ov := m.overlay(); ov != "" {
		parts = append(parts, ov)
	}
	if s := m.statusLine(); s != "" {
		parts = append(parts, s)
	}
	parts = append(parts, m.footerView())
	// Pad the body so the footer stays at the bottom.
	out := strings.Join(parts, "\n")
	if n := strings.Count(out, "\n") + 1; n < m.height {
		out = strings.Join(parts[:len(parts)-1], "\n") + strings.Repeat("\n", m.height-n+1) + parts[len(parts)-1]
	}
	return out
}

// fullHelp is the `?` screen in at most rows lines: the keymap's groups side
// by side where they fit, else every key flowed into as many columns as
// rows require, so a narrow terminal (40×12) still shows every key, quit
// included, where bubbles' help would cut whole columns off.
func (m Model) fullHelp(rows int) string {
	groups := m.keys.FullHelp()
	var flat []key.Binding
	tallest := 0
	for _, g := range groups {
		n := 0
		for _, b := range g {
			if b.Enabled() {
				flat = append(flat, b)
				n++
			}
		}
		tallest = max(tallest, n)
	}
	hm := m.help
	hm.SetWidth(0) // unlimited: measure the groups uncut
	if grouped := hm.FullHelpView(groups); tallest <= rows && lipgloss.Width(grouped) <= m.width {
		return grouped
	}
	if rows <= 0 || len(flat) == 0 {
		return ""
	}
	st := m.help.Styles
	cols := (len(flat) + rows - 1) / rows
	rows = (len(flat) + cols - 1) / cols // even columns, not a straggler
	const sep = "  "
	// Each column gets its keys' width, a space, and an even share of what
	// is left for descriptions (cut with "…" when they do not fit).
	keyW := make([]int, cols)
	descW := make([]int, cols)
	for i, b := range flat {
		keyW[i/rows] = max(keyW[i/rows], ansi.StringWidth(b.Help().Key))
		descW[i/rows] = max(descW[i/rows], ansi.StringWidth(b.Help().Desc))
	}
	total := len(sep) * (cols - 1)
	for c := range cols {
		total += keyW[c] + 1 + descW[c]
	}
	// Trim the widest descriptions first until the columns fit.
	for total > m.width {
		c := 0
		for i := range descW {
			if descW[i] > descW[c] {
				c = i
			}
		}
		if descW[c] <= 1 {
			break
		}
		descW[c]--
		total--
	}
	lines := make([]string, min(rows, len(flat)))
	for i, b := range flat {
		c, r := i/rows, i%rows
		if c > 0 {
			lines[r] += sep
		}
		cell := st.FullKey.Render(pad(b.Help().Key, keyW[c], false)) + " " + st.FullDesc.Render(pad(b.Help().Desc, descW[c], false))
		lines[r] += cell
	}
	return strings.Join(lines, "\n")
}

// clip keeps the first n lines of s, each at most w wide.
func clip(s string, n, w int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[:max(0, n)]
	}
	for i, l := range lines {
		lines[i] = fit(l, w)
	}
	return strings.Join(lines, "\n")
}

// overlay is the open dialog (confirmation or scenario menu), if any.
func (m Model) overlay() string {
	switch {
	case m.confirm.active:
		return m.confirm.View(m.width, m.st)
	case m.menu.active:
		return m.menu.View(m.width, m.st)
	}
	return ""
}

// statusLine is the filter input, or the last message.
func (m Model) statusLine() string {
	if f := m.filter.View(m.width, m.st); f != "" {
		if m.status == "" || m.filter.active {
			return f
		}
		return fit(f+" · "+m.status, m.width)
	}
	if m.status == "" {
		return ""
	}
	if m.statusOK {
		return fit(m.status, m.width)
	}
	return m.st.errText.Render(fit(m.status, m.width))
}

// headerView: targets, interval, window, paused marker, finding counts; a
// second line lists each target's scrape health when there is room.
func (m Model) headerView(lines int) string {
	snap := m.shown
	up, total, crit, warn := 0, 0, 0, 0
	if snap != nil {
		total = len(snap.Targets)
		for _, t := range snap.Targets {
			if t.Up {
				up++
			}
		}
		for _, f := range snap.Findings {
			if f.Severity == model.Critical {
				crit++
			} else {
				warn++
			}
		}
	}
	// The finding counts must not be pushed off a narrow screen: the parts
	// before them give way, in this order, until they fit.
	const (
		dropEvery = 1 << iota
		dropWindow
		dropPausedAt
		dropUp
		dropTitle
	)
	line := func(drop int) string {
		var parts []string
		if r := m.replay; r != nil {
			parts = append(parts, m.st.title.Render(replayLabel(*r)))
			if r.Err != "" {
				parts = append(parts, m.st.errText.Render(r.Err))
			}
		}
		if m.note != "" {
			parts = append(parts, m.note)
		}
		if drop&dropUp == 0 {
			parts = append(parts, fmt.Sprintf("%d/%d up", up, total))
		}
		if m.replay == nil && drop&dropEvery == 0 { // a replay's pace is its speed
			parts = append(parts, "every "+fmtDuration(m.opts.Interval))
		}
		if drop&dropWindow == 0 {
			parts = append(parts, "window "+fmtDuration(m.window))
		}
		if m.grouped {
			parts = append(parts, "grouped")
		}
		if m.paused {
			p := m.st.warning.Render("⏸ PAUSED")
			if snap != nil && drop&dropPausedAt == 0 {
				p += " at " + snap.Time.Format("15:04:05")
			}
			parts = append(parts, p)
		}
		if crit > 0 {
			parts = append(parts, m.st.critical.Render(fmt.Sprintf("✖ %d critical", crit)))
		}
		if warn > 0 {
			parts = append(parts, m.st.warning.Render(fmt.Sprintf("▲ %d warning", warn)))
		}
		if crit == 0 && warn == 0 && snap != nil {
			parts = append(parts, m.st.ok.Render("✓ no findings"))
		}
		l := strings.Join(parts, " · ")
		if drop&dropTitle == 0 {
			l = m.st.title.Render("resiltop") + " " + l
		}
		return l
	}
	drop := 0
	for _, d := range []int{dropEvery, dropWindow, dropPausedAt, dropUp, dropTitle} {
		if ansi.StringWidth(line(drop)) <= m.width {
			break
		}
		drop |= d
	}
	var b strings.Builder
	b.WriteString(line(drop))
	// After the counts, cut first on a narrow screen.
	if w := warnings(snap); w != "" {
		b.WriteString(" · " + m.st.warning.Render("⚠ "+w))
	}
	out := fit(b.String(), m.width)
	if lines < 2 || snap == nil {
		return out
	}
	parts := make([]string, 0, len(snap.Targets))
	// The source (fleet mode's Prometheus) first: a long fleet must not push
	// it off the line.
	targets := slices.Clone(snap.Targets)
	slices.SortStableFunc(targets, func(a, b model.TargetHealth) int {
		switch {
		case a.Source == b.Source:
			return 0
		case a.Source:
			return -1
		}
		return 1
	})
	for _, t := range targets {
		age := unknown
		if !t.LastScrape.IsZero() {
			age = format.Age(snap.Time.Sub(t.LastScrape))
		}
		name := shortTarget(t.URL)
		if t.Source {
			name = "via " + name
		}
		switch {
		case t.Up && t.Source:
			parts = append(parts, fmt.Sprintf("✓ %s %s ago (%s)", name, age, fmtDuration(t.ScrapeDuration)))
			continue
		case t.Up:
			parts = append(parts, fmt.Sprintf("✓ %s %s ago (%s) %s", name, age, fmtDuration(t.ScrapeDuration), profiles(t.Profiles)))
			continue
		}
		down := "✗ " + name + " DOWN"
		if !t.LastSuccess.IsZero() {
			down += " " + format.Age(snap.Time.Sub(t.LastSuccess))
		}
		parts = append(parts, m.st.critical.Render(down)+": "+t.Err)
	}
	return out + "\n" + fit(strings.Join(parts, "  "), m.width)
}

// warnings sums up the sources' warnings (Prometheus's, a partial
// response) for the header: the first one, and how many more there are.
func warnings(snap *model.Snapshot) string {
	if snap == nil {
		return ""
	}
	var all []string
	for _, t := range snap.Targets {
		for _, w := range t.Warnings {
			if !slices.Contains(all, w) {
				all = append(all, w)
			}
		}
	}
	switch len(all) {
	case 0:
		return ""
	case 1:
		return all[0]
	}
	return fmt.Sprintf("%s (+%d more)", all[0], len(all)-1)
}

// replayLabel is the replay's place in the header: "replay 03:04:05 ·
// 312/1200 · ×8 · paused" (or "end" once every scrape is replayed).
func replayLabel(r ReplayState) string {
	at := unknown
	if !r.Now.IsZero() {
		at = r.Now.Format("15:04:05")
	}
	speed := "×" + strconv.FormatFloat(r.Speed, 'f', -1, 64)
	if r.Speed < 1 && r.Speed > 0 {
		speed = "×1/" + strconv.FormatFloat(1/r.Speed, 'f', 0, 64)
	}
	s := fmt.Sprintf("replay %s · %d/%d · %s", at, r.Pos, r.Total, speed)
	switch {
	case r.Pos >= r.Total:
		s += " · end"
	case r.Paused:
		s += " · paused"
	}
	return s
}

// profiles names the conventions read on a target, "[resiltop]", so a
// missing row can be traced to a convention that was not detected.
func profiles(names []string) string {
	if len(names) == 0 {
		return "[no known convention]"
	}
	return "[" + strings.Join(names, ",") + "]"
}

// findingsView lists the worst n findings, one line each. With several
// targets each line names its target: replicas share dependency names, and
// a finding quotes one replica's numbers, grouped or not.
func (m Model) findingsView(n int) string {
	fs := m.shown.Findings
	multi := len(m.shown.Targets) > 1
	lines := make([]string, 0, n)
	for i := 0; i < n && i < len(fs); i++ {
		f := fs[i]
		if multi && f.Dependency != "" {
			// A target-level finding's message starts with its target
			// already; a dependency's starts with the dependency's name.
			f.Message = shortTarget(f.Target) + " " + f.Message
		}
		line := findingLine(f, m.st)
		if i == n-1 && len(fs) > n {
			more := fmt.Sprintf(" (+%d more)", len(fs)-n)
			line = fit(line, m.width-ansi.StringWidth(more)) + more
		}
		lines = append(lines, fit(line, m.width))
	}
	return strings.Join(lines, "\n")
}

// footerView is the short help, with the read-only notice when admin keys
// are off, or the mode's own keys.
func (m Model) footerView() string {
	prefix := ""
	switch {
	case m.opts.Replay != nil: // no admin keys, and the header says replay: the room goes to its keys
	case m.opts.ReadOnly:
		prefix = "READ-ONLY: breaker keys off · "
	case m.opts.Switch == nil:
		prefix = "no admin endpoint · "
	}
	if m.mode != modeOverview {
		prefix += "esc back · "
	}
	w := max(1, m.width-ansi.StringWidth(prefix))
	hm := m.help
	hm.SetWidth(w)
	return fit(prefix+hm.ShortHelpView(m.keys.ShortHelp()), m.width)
}
