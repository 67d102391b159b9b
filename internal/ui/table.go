package ui

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"resiltop/internal/format"
	"resiltop/internal/model"
)

// colID names an overview column.
type colID int

// The overview columns in display order.
const (
	colName colID = iota
	colTarget
	colBreaker
	colCalls
	colErr
	colTimeouts
	colRetry
	colP50
	colP99
	colSpark
	colPool
	colBulkhead
	colPending
	colTags
	numCols
)

// column describes an overview column. Lower prio survives longer as the
// terminal narrows.
type column struct {
	title string
	width int // fixed width; 0 for the dynamic NAME, BREAKER and FINDINGS
	prio  int
	right bool
}

var columns = [numCols]column{
	colName:     {title: "NAME", prio: 0},
	colTarget:   {title: "TARGET", width: 18, prio: 5}, // replicas share dependency names: rows need it to differ
	colBreaker:  {title: "BREAKER", prio: 0},
	colCalls:    {title: "CALLS/s", width: 7, prio: 2, right: true},
	colErr:      {title: "ERR%", width: 6, prio: 1, right: true},
	colTimeouts: {title: "T/O/s", width: 6, prio: 5, right: true},
	colRetry:    {title: "RETRY%", width: 6, prio: 6, right: true},
	colP50:      {title: "p50", width: 6, prio: 8, right: true},
	colP99:      {title: "p99", width: 6, prio: 3, right: true},
	colSpark:    {title: "TREND", width: 12, prio: 9},
	colPool:     {title: "POOL", width: 9, prio: 7},
	colBulkhead: {title: "BULKHEAD", width: 8, prio: 10},
	colPending:  {title: "PENDING", width: 10, prio: 4},
	colTags:     {title: "FINDINGS", prio: 4},
}

// sortKey is a column the overview can be sorted by.
type sortKey struct {
	name string
	col  colID // whose header shows the sort direction
	// value orders rows largest (worst) first in the natural direction;
	// unknown values always sort last. nil for "worst" and "name".
	value func(d *model.Dependency) (float64, bool)
}

// sortKeys is the cycle of `s`. "worst" keeps the snapshot's order, which is
// worst first, as in the JSON, and is marked on FINDINGS, the reason for it.
var sortKeys = []sortKey{
	{name: "worst", col: colTags},
	{name: "name", col: colName},
	{name: "breaker", col: colBreaker, value: func(d *model.Dependency) (float64, bool) { return breakerRank(d.Breaker), true }},
	{name: "calls/s", col: colCalls, value: known(func(d *model.Dependency) model.Value { return d.CallsPerSecond })},
	{name: "err%", col: colErr, value: known(func(d *model.Dependency) model.Value { return d.ErrorRatio })},
	{name: "t/o/s", col: colTimeouts, value: known(func(d *model.Dependency) model.Value { return d.TimeoutsPerSecond })},
	{name: "retry%", col: colRetry, value: known(func(d *model.Dependency) model.Value { return d.RetryRatio })},
	{name: "p50", col: colP50, value: known(func(d *model.Dependency) model.Value { return d.Latency.P50 })},
	{name: "p99", col: colP99, value: known(func(d *model.Dependency) model.Value { return d.Latency.P99 })},
	{name: "pool", col: colPool, value: known(func(d *model.Dependency) model.Value { return ratio(d.Pool.InUse, d.Pool.Max) })},
	{name: "bulkhead", col: colBulkhead, value: known(func(d *model.Dependency) model.Value { return ratio(d.Bulkhead.InFlight, d.Bulkhead.Max) })},
	{name: "pending", col: colPending, value: known(func(d *model.Dependency) model.Value { return d.Pending.Count })},
}

func known(f func(d *model.Dependency) model.Value) func(d *model.Dependency) (float64, bool) {
	return func(d *model.Dependency) (float64, bool) { v := f(d); return float64(v), v.Known() }
}

func ratio(a, b model.Value) model.Value {
	if !a.Known() || !b.Known() || b == 0 {
		return model.Unknown()
	}
	return a / b
}

// breakerRank orders breaker states by how much they hurt.
func breakerRank(b model.Breaker) float64 {
	if b.Limit != "" {
		return 3
	}
	switch b.State {
	case model.BreakerOpen:
		return 6
	case model.BreakerForcedOpen:
		return 5
	case model.BreakerHalfOpen:
		return 4
	case model.BreakerDisabled:
		return 2
	case model.BreakerClosed:
		return 1
	}
	return 0
}

// row is one dependency's overview line, formatted once per snapshot so
// that View only lays cells out.
type row struct {
	key   string // depKey(target, name)
	dep   *model.Dependency
	cells [numCols]string
	crit  bool // carries a critical finding
}

// depKey identifies a dependency across snapshots.
func depKey(target, name string) string { return target + "\x00" + name }

// sparkMode picks what the TREND column plots.
type sparkMode int

const (
	sparkP99 sparkMode = iota
	sparkErr
)

func (s sparkMode) title() string {
	if s == sparkErr {
		return "ERR TREND"
	}
	return "p99 TREND"
}

// buildRows formats every dependency of snap.
func buildRows(snap *model.Snapshot, mode sparkMode) []row {
	if snap == nil {
		return nil
	}
	rows := make([]row, len(snap.Dependencies))
	vals := make([]model.Value, 0, 64)
	for i := range snap.Dependencies {
		d := &snap.Dependencies[i]
		r := &rows[i]
		r.key, r.dep = depKey(d.Target, d.Name), d
		name := d.Name
		if d.Stale {
			age := unknown
			if !d.LastSeen.IsZero() {
				age = format.Age(snap.Time.Sub(d.LastSeen))
			}
			name += " (stale " + age + ")"
		}
		r.cells[colName] = name
		r.cells[colTarget] = targetCell(d)
		r.cells[colBreaker] = breakerLabel(d.Breaker)
		r.cells[colCalls] = format.Rate(d.CallsPerSecond)
		r.cells[colErr] = format.Percent(d.ErrorRatio)
		r.cells[colTimeouts] = format.Rate(d.TimeoutsPerSecond)
		r.cells[colRetry] = format.Percent(d.RetryRatio)
		r.cells[colP50] = format.Seconds(d.Latency.P50)
		r.cells[colP99] = format.Seconds(d.Latency.P99)
		vals = vals[:0]
		for _, p := range d.History {
			if mode == sparkErr {
				vals = append(vals, p.ErrorRatio)
			} else {
				vals = append(vals, p.Latency.P99)
			}
		}
		r.cells[colSpark] = sparkline(vals, columns[colSpark].width)
		r.cells[colPool] = fmtPool(d.Pool)
		r.cells[colBulkhead] = format.Used(d.Bulkhead.InFlight, d.Bulkhead.Max)
		r.cells[colPending] = fmtPending(d.Pending)
		tags := make([]string, 0, len(d.Findings))
		for _, f := range d.Findings {
			tags = append(tags, findingTag(f))
			r.crit = r.crit || f.Severity == model.Critical
		}
		r.cells[colTags] = strings.Join(tags, " ")
	}
	return rows
}

func fmtPool(p model.Pool) string {
	s := format.Used(p.InUse, p.Max)
	if p.Pending.Known() && p.Pending > 0 {
		s += "+" + format.Count(p.Pending)
	}
	return s
}

func fmtPending(p model.Pending) string {
	if !p.Count.Known() {
		return unknown
	}
	if p.Count == 0 || !p.OldestAgeSeconds.Known() {
		return format.Count(p.Count)
	}
	return format.Count(p.Count) + " " + format.AgeSeconds(p.OldestAgeSeconds)
}

// targetCell is the TARGET of a row: the target, or how many targets a
// grouped row stands for.
func targetCell(d *model.Dependency) string {
	if len(d.Members) > 1 {
		return fmt.Sprintf("%d targets", len(d.Members))
	}
	return shortTarget(d.Target)
}

// shortTarget drops the scheme and the /metrics path so a target fits a column.
func shortTarget(u string) string {
	s := strings.TrimPrefix(strings.TrimPrefix(u, "http://"), "https://")
	return strings.TrimSuffix(s, "/metrics")
}

// emptyMessage says why snap has no dependency: no scrape has succeeded
// yet, or the pages scraped carry no convention resiltop reads (the header
// shows "[no known convention]"; waiting would never help), or they carry
// one but name no dependency.
func emptyMessage(snap *model.Snapshot) string {
	if snap != nil && len(snap.Dependencies) > 0 {
		return "" // the table has rows: nothing to explain
	}
	var bare, read []string // scraped targets without and with a convention
	var conv []string
	for _, tg := range snap.Targets {
		switch {
		case tg.LastSuccess.IsZero():
		case len(tg.Profiles) == 0:
			bare = append(bare, shortTarget(tg.URL))
		default:
			read = append(read, shortTarget(tg.URL))
			conv = append(conv, tg.Profiles...)
		}
	}
	switch {
	case len(bare) > 0:
		return fmt.Sprintf("no dependencies: the page of %s carries no known convention (%s) — is it the right /metrics? "+
			"--profile or a profiles: mapping in --config can help", strings.Join(bare, ", "), strings.Join(snap.Conventions, ", "))
	case len(read) > 0:
		slices.Sort(conv)
		return fmt.Sprintf("no dependencies: %s reads as %s but names no dependency yet",
			strings.Join(read, ", "), profiles(slices.Compact(conv)))
	}
	return waitingMsg
}

// waitingMsg fills the table before any scrape has succeeded.
const waitingMsg = "no dependencies yet — waiting for the first scrape"

// tableModel is the overview table: rows of the shown snapshot, filtered and
// sorted, with a cursor that follows its dependency across refreshes.
type tableModel struct {
	rows    []row
	view    []int // indices into rows after filter and sort
	cursor  int   // index into view
	offset  int   // first visible index into view
	sortIdx int
	reverse bool
	filter  *regexp.Regexp
	invert  bool
	selKey  string
	// follow is set once the user moves the cursor (or opens a detail):
	// from then on it follows its dependency across refreshes. Until then
	// it stays on the top row, the worst, which the first snapshot may not
	// yet have ranked first.
	follow bool
	multi  bool // several targets: show the TARGET column
	spark  sparkMode
	height int // visible rows, set by the layout
	nameW  int // widest NAME and BREAKER cells, measured once per snapshot
	brkW   int
	empty  string // what to say when the snapshot has no dependency (emptyMessage)
}

// setHeight sets how many rows are visible and keeps the cursor on screen.
func (t tableModel) setHeight(n int) tableModel {
	t.height = max(0, n)
	return t.move(0)
}

// setRows replaces the rows (new snapshot) keeping the selection; empty
// is what to say when there are none.
func (t tableModel) setRows(rows []row, multi bool, empty string) tableModel {
	t.rows, t.multi, t.empty = rows, multi, empty
	t.nameW, t.brkW = 4, len("BREAKER")
	for i := range rows {
		t.nameW = max(t.nameW, ansi.StringWidth(rows[i].cells[colName]))
		t.brkW = max(t.brkW, ansi.StringWidth(rows[i].cells[colBreaker]))
	}
	return t.refresh()
}

// setFilter sets the regex filter; a leading "!" inverts it. An invalid
// regex returns the error and leaves the filter as it was.
func (t tableModel) setFilter(expr string) (tableModel, error) {
	inv := strings.HasPrefix(expr, "!")
	expr = strings.TrimPrefix(expr, "!")
	if expr == "" {
		t.filter, t.invert = nil, false
		return t.refresh(), nil
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return t, fmt.Errorf("invalid filter: %w", err)
	}
	t.filter, t.invert = re, inv
	return t.refresh(), nil
}

// cycleSort moves to the next sort column.
func (t tableModel) cycleSort() tableModel {
	t.sortIdx = (t.sortIdx + 1) % len(sortKeys)
	return t.refresh()
}

// toggleReverse reverses the sort direction.
func (t tableModel) toggleReverse() tableModel {
	t.reverse = !t.reverse
	return t.refresh()
}

// refresh recomputes the filtered, sorted view and restores the cursor to
// the selected dependency when it is still visible and the user chose it;
// otherwise the cursor is on the top row.
func (t tableModel) refresh() tableModel {
	view := t.view[:0:0]
	for i := range t.rows {
		if t.filter != nil {
			d := t.rows[i].dep
			hit := t.filter.MatchString(d.Name) || t.filter.MatchString(d.Target) ||
				slices.ContainsFunc(d.Members, t.filter.MatchString)
			if hit == t.invert {
				continue
			}
		}
		view = append(view, i)
	}
	sk := sortKeys[t.sortIdx]
	switch {
	case sk.name == "name":
		slices.SortStableFunc(view, func(a, b int) int {
			da, db := t.rows[a].dep, t.rows[b].dep
			return cmp.Or(cmp.Compare(da.Name, db.Name), cmp.Compare(da.Target, db.Target))
		})
	case sk.value != nil:
		slices.SortStableFunc(view, func(a, b int) int {
			va, oka := sk.value(t.rows[a].dep)
			vb, okb := sk.value(t.rows[b].dep)
			switch {
			case oka != okb: // unknown last
				if oka {
					return -1
				}
				return 1
			case !oka:
				return 0
			}
			return cmp.Compare(vb, va)
		})
	}
	if t.reverse {
		slices.Reverse(view)
	}
	t.view = view
	t.cursor = 0
	for i, ri := range view {
		if t.follow && t.rows[ri].key == t.selKey {
			t.cursor = i
			break
		}
	}
	return t.move(0)
}

// move moves the cursor by delta rows, clamped.
func (t tableModel) move(delta int) tableModel {
	t.cursor = max(0, min(t.cursor+delta, len(t.view)-1))
	if sel := t.selected(); sel != nil {
		t.selKey = sel.key
	}
	// Keep the cursor on screen.
	if t.cursor < t.offset {
		t.offset = t.cursor
	}
	if t.height > 0 && t.cursor >= t.offset+t.height {
		t.offset = t.cursor - t.height + 1
	}
	t.offset = max(0, min(t.offset, len(t.view)-t.height))
	return t
}

// selectName puts the cursor on the first visible row of name, the worst
// of its targets in the default order; it stays put when there is none.
func (t tableModel) selectName(name string) tableModel {
	for i, ri := range t.view {
		if t.rows[ri].dep.Name == name {
			t.cursor = i
			return t.move(0)
		}
	}
	return t
}

// moveBy moves the cursor by delta rows for the user, who chose the row
// from then on.
func (t tableModel) moveBy(delta int) tableModel {
	t.follow = true
	return t.move(delta)
}

// moveTo puts the cursor on the first (top) or last row for the user.
func (t tableModel) moveTo(top bool) tableModel {
	t.follow = true
	if top {
		t.cursor = 0
	} else {
		t.cursor = len(t.view) - 1
	}
	return t.move(0)
}

// selected is the row under the cursor, nil when the view is empty.
func (t tableModel) selected() *row {
	if t.cursor < 0 || t.cursor >= len(t.view) {
		return nil
	}
	return &t.rows[t.view[t.cursor]]
}

// sortMark is the column whose header carries the sort direction and its
// arrow (▲ ascending, ▼ descending down the table); ok is false for the
// default order, worst first, which needs no mark.
func (t tableModel) sortMark() (c colID, arrow string, ok bool) {
	if t.sortIdx == 0 && !t.reverse {
		return 0, "", false
	}
	sk := sortKeys[t.sortIdx]
	asc := sk.name == "name" // names ascend; values and "worst" descend
	if asc != t.reverse {
		return sk.col, "▲", true
	}
	return sk.col, "▼", true
}

// layout picks the columns that fit width, by priority, and their widths.
// The sorted column comes right after NAME and BREAKER and is widened to
// show its arrow: what `s` sorted by must be visible.
func (t tableModel) layout(width int) ([]colID, [numCols]int) {
	var w [numCols]int
	w[colName] = min(max(4, t.nameW), max(8, width/4))
	w[colBreaker] = min(max(len("BREAKER"), t.brkW), 16)
	w[colTags] = len("FINDINGS")
	for c := colTarget; c < numCols; c++ {
		if columns[c].width > 0 {
			w[c] = columns[c].width
		}
	}
	prio := func(c colID) int { return columns[c].prio }
	if sc, arrow, ok := t.sortMark(); ok {
		w[sc] = max(w[sc], ansi.StringWidth(t.title(sc)+arrow))
		prio = func(c colID) int {
			if c == sc {
				return 0
			}
			return columns[c].prio
		}
	}
	// Admit columns in priority order while they fit (one space between).
	// Once one does not, nothing of lower priority is admitted either: a
	// narrower column taking its place would make the columns swap whenever
	// a cell's width changes (a breaker going HALF_OPEN).
	order := make([]colID, 0, numCols)
	for c := range numCols {
		if c == colTarget && !t.multi {
			continue
		}
		order = append(order, c)
	}
	slices.SortStableFunc(order, func(a, b colID) int { return cmp.Compare(prio(a), prio(b)) })
	var show [numCols]bool
	used, cut := 0, -1 // cut: the priority of the first column that did not fit
	for _, c := range order {
		if cut >= 0 && prio(c) > cut {
			break
		}
		need := w[c]
		if used > 0 {
			need++
		}
		if used+need > width {
			if c == colName || c == colBreaker { // always shown, squeezed
				w[c] = max(1, width-used-1)
				show[c] = true
				used = width
			}
			cut = prio(c)
			continue
		}
		show[c] = true
		used += need
	}
	// Spare width goes to FINDINGS, which holds admin notes and tags.
	if show[colTags] {
		w[colTags] += width - used
	}
	cols := make([]colID, 0, numCols)
	for c := range numCols {
		if show[c] {
			cols = append(cols, c)
		}
	}
	return cols, w
}

// headerLine is the column titles for the laid-out columns.
func (t tableModel) headerLine(cols []colID, w [numCols]int) string {
	sc, arrow, marked := t.sortMark()
	var b strings.Builder
	for i, c := range cols {
		if i > 0 {
			b.WriteByte(' ')
		}
		title := t.title(c)
		if c == sc && marked {
			title += arrow
		}
		b.WriteString(pad(title, w[c], columns[c].right))
	}
	return b.String()
}

// title is a column's header without the sort mark.
func (t tableModel) title(c colID) string {
	if c == colSpark {
		return t.spark.title()
	}
	return columns[c].title
}

// View renders the header line and the visible rows; notes maps a row key
// to an admin note shown in FINDINGS.
func (t tableModel) View(width int, st styles, notes map[string]string) string {
	height := t.height + 1
	if height <= 0 || width <= 0 {
		return ""
	}
	cols, w := t.layout(width)
	var b strings.Builder
	b.WriteString(st.header.Render(fit(t.headerLine(cols, w), width)))
	n := height - 1
	if len(t.view) == 0 && n > 0 {
		msg := t.empty
		if len(t.rows) > 0 {
			msg = "no dependency matches the filter"
		}
		// Wrapped, not cut: the explanation of an empty table is the one
		// thing on the screen, and its end says what to do.
		lines := wrapWords(msg, width)
		for _, l := range lines[:min(n, len(lines))] {
			b.WriteString("\n" + st.dim.Render(fit(l, width)))
		}
		return b.String()
	}
	var line strings.Builder
	for vi := t.offset; vi < len(t.view) && vi < t.offset+n; vi++ {
		r := &t.rows[t.view[vi]]
		line.Reset()
		for i, c := range cols {
			if i > 0 {
				line.WriteByte(' ')
			}
			cell := r.cells[c]
			if c == colTags {
				if note, ok := notes[r.key]; ok {
					cell = note
				}
			}
			cell = pad(cell, w[c], columns[c].right)
			if c == colBreaker && vi != t.cursor && !r.dep.Stale {
				if s, ok := st.breaker[r.dep.Breaker.State]; ok && r.dep.Breaker.Limit == "" {
					cell = s.Render(cell)
				} else if r.dep.Breaker.Limit != "" {
					cell = st.limit.Render(cell)
				}
			}
			line.WriteString(cell)
		}
		b.WriteString("\n")
		switch {
		case vi == t.cursor:
			b.WriteString(st.selected.Render(line.String()))
		case r.dep.Stale:
			b.WriteString(st.dim.Render(line.String()))
		default:
			b.WriteString(line.String())
		}
	}
	return b.String()
}
