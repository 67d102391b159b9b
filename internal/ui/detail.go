package ui

import (
	"fmt"
	"math"
	"strings"
	"time"

	"charm.land/lipgloss/v2"
	"github.com/NimbleMarkets/ntcharts/v2/canvas"
	"github.com/NimbleMarkets/ntcharts/v2/linechart"
	tslc "github.com/NimbleMarkets/ntcharts/v2/linechart/timeserieslinechart"

	"resiltop/internal/format"
	"resiltop/internal/model"
)

// detailModel is the drill-down of one dependency. Its content is built
// when the snapshot, the size or the selection changes, not on every frame:
// the charts are the most expensive thing on screen.
type detailModel struct {
	content string
}

// build renders dep's detail into width×height.
// group, when not "", says which grouped row dep stands for.
func (d detailModel) build(snap *model.Snapshot, dep *model.Dependency, evs []model.Event, note, group string, width, height int, st styles, noColor bool) detailModel {
	if dep == nil || width <= 0 || height <= 0 {
		d.content = st.dim.Render("the dependency is no longer in the snapshot — esc to go back")
		return d
	}
	var lines []string
	add := func(s string) { lines = append(lines, fit(s, width)) }

	title := st.title.Render(dep.Name) + " @ " + shortTarget(dep.Target) + "  " + breakerLabel(dep.Breaker)
	if !dep.Breaker.Since.IsZero() {
		title += " since " + dep.Breaker.Since.Format("15:04:05") + " (" + format.Age(snap.Time.Sub(dep.Breaker.Since)) + ")"
	}
	title += " · " + format.Count(dep.Breaker.Transitions) + " transitions in window"
	// Rates the breaker computes itself (resilience4j) and Envoy's outlier
	// ejections are shown only where a convention reports them.
	if dep.Breaker.FailureRate.Known() || dep.Breaker.SlowCallRate.Known() {
		title += " · its failure rate " + format.Percent(dep.Breaker.FailureRate/100) +
			", slow calls " + format.Percent(dep.Breaker.SlowCallRate/100)
	}
	if dep.EjectedHosts.Known() {
		title += " · " + format.Count(dep.EjectedHosts) + " hosts ejected"
	}
	if dep.Stale {
		title += " · STALE, last seen " + format.Age(snap.Time.Sub(dep.LastSeen)) + " ago"
	}
	add(title)
	if group != "" {
		add(group)
	}
	if note != "" {
		add("admin: " + note)
	}
	add(fmt.Sprintf("calls %s/s · errors %s · timeouts %s/s · retries %s/s (ratio %s)",
		format.Rate(dep.CallsPerSecond), format.Percent(dep.ErrorRatio), format.Rate(dep.TimeoutsPerSecond),
		format.Rate(dep.RetriesPerSecond), format.Percent(dep.RetryRatio)))
	if q := dep.Latency; !q.P50.Known() && !q.P90.Known() && !q.P99.Known() && !q.P999.Known() && dep.LatencyMean > 0 {
		// Only an average (HAProxy): said to be one, never put in a
		// quantile's place. 0 is HAProxy's average before it timed anything.
		add(fmt.Sprintf("latency avg %s (no histogram) · timeout %s",
			format.Seconds(dep.LatencyMean), format.Seconds(dep.TimeoutSeconds)))
	} else {
		add(fmt.Sprintf("latency p50 %s · p90 %s · p99 %s · p99.9 %s · timeout %s",
			format.Seconds(dep.Latency.P50), format.Seconds(dep.Latency.P90), format.Seconds(dep.Latency.P99),
			format.Seconds(dep.Latency.P999), format.Seconds(dep.TimeoutSeconds)))
	}
	waiting := ""
	if dep.Pool.Pending.Known() {
		waiting = " (" + format.Count(dep.Pool.Pending) + " waiting)"
	}
	add(fmt.Sprintf("pool %s%s · bulkhead %s, %s rejected/s · pending %s, oldest %s, created %s/s, resolved %s/s",
		format.Used(dep.Pool.InUse, dep.Pool.Max), waiting,
		format.Used(dep.Bulkhead.InFlight, dep.Bulkhead.Max), format.Rate(dep.Bulkhead.RejectedPerSecond),
		format.Count(dep.Pending.Count), format.AgeSeconds(dep.Pending.OldestAgeSeconds),
		format.Rate(dep.Pending.CreatedPerSecond), format.Rate(dep.Pending.ResolvedPerSecond)))
	// Findings are one line each, followed by their advice; on a short
	// screen the first two and only the worst one's advice, so the charts
	// keep their room, and on a tiny one no advice: it would be all there is.
	nf := len(dep.Findings)
	if height < 40 {
		nf = min(nf, 2)
	}
	for i, f := range dep.Findings[:nf] {
		add(findingLine(f, st))
		if f.Advice != "" && height >= 20 && (i == 0 || height >= 40) {
			for _, l := range wrapWords("→ "+f.Advice, max(20, width-4)) {
				add("    " + st.dim.Render(l))
			}
		}
	}

	// The breaker timeline and three event lines (with their title) come
	// before charts; charts get 5 to 10 lines each plus a title.
	rest := height - len(lines) - 1 - 4
	cols := 1
	if width >= 100 {
		cols = 2
	}
	chartRows, chartH := 0, 0
	if width >= 40 && rest >= 6 {
		chartRows = max(1, min(4, rest/11))
		chartH = min(10, rest/chartRows-1)
	}
	from, to := snap.Time.Add(-snap.Window), snap.Time
	if chartRows > 0 {
		cw := (width - (cols - 1)) / cols
		charts := d.charts(dep, from, to, cw, chartH, st, noColor)
		for r := 0; r < chartRows && r*cols < len(charts); r++ {
			row := charts[r*cols : min(len(charts), (r+1)*cols)]
			lines = append(lines, strings.Split(lipgloss.JoinHorizontal(lipgloss.Top, joinGap(row)...), "\n")...)
		}
	}
	if len(lines) < height {
		add("breaker " + breakerTimeline(dep.History, from, to, width-8))
	}
	if room := height - len(lines) - 1; room > 0 {
		var mine []model.Event
		for _, ev := range evs {
			if ev.Target == dep.Target && (ev.Dependency == dep.Name || ev.Dependency == "") {
				mine = append(mine, ev)
			}
		}
		add(st.header.Render("events"))
		mine = mine[max(0, len(mine)-room):]
		if len(mine) == 0 {
			add(st.dim.Render("none in this session"))
		}
		for _, ev := range mine {
			add(eventLine(ev))
		}
	}
	if len(lines) > height {
		lines = lines[:height]
	}
	d.content = strings.Join(lines, "\n")
	return d
}

func joinGap(blocks []string) []string {
	out := make([]string, 0, 2*len(blocks))
	for i, b := range blocks {
		if i > 0 {
			out = append(out, " ")
		}
		out = append(out, b)
	}
	return out
}

// charts renders the detail charts, each w wide and h+1 high (title line).
func (d detailModel) charts(dep *model.Dependency, from, to time.Time, w, h int, st styles, noColor bool) []string {
	get := func(f func(p model.Point) model.Value) []model.Value {
		out := make([]model.Value, len(dep.History))
		for i, p := range dep.History {
			out[i] = f(p)
		}
		return out
	}
	pct := func(v float64) string { return format.Percent(model.Value(v)) }
	secs := func(v float64) string { return format.Seconds(model.Value(v)) }
	rate := func(v float64) string { return format.Rate(model.Value(v)) }
	times := make([]time.Time, len(dep.History))
	for i, p := range dep.History {
		times[i] = p.Time
	}
	var out []string
	out = append(out, titled("calls/s", lineChart(times, get(func(p model.Point) model.Value { return p.CallsPerSecond }), from, to, w, h, rate, model.Unknown(), st), w))
	out = append(out, titled("error ratio", lineChart(times, get(func(p model.Point) model.Value { return p.ErrorRatio }), from, to, w, h, pct, model.Unknown(), st), w))
	out = append(out, titled("p99 latency ── vs timeout ┄┄ "+format.Seconds(dep.TimeoutSeconds),
		lineChart(times, get(func(p model.Point) model.Value { return p.Latency.P99 }), from, to, w, h, secs, dep.TimeoutSeconds, st), w))
	out = append(out, titled("latency heatmap (rows = buckets, darker/denser = more)", heatmap(dep, w, h, st, noColor), w))
	out = append(out, titled("pool in use "+format.Used(dep.Pool.InUse, dep.Pool.Max),
		lineChart(times, get(func(p model.Point) model.Value { return p.PoolInUse }), from, to, w, h, rate, dep.Pool.Max, st), w))
	out = append(out, titled("bulkhead in flight "+format.Used(dep.Bulkhead.InFlight, dep.Bulkhead.Max),
		lineChart(times, get(func(p model.Point) model.Value { return p.BulkheadInFlight }), from, to, w, h, rate, dep.Bulkhead.Max, st), w))
	out = append(out, titled("pending count", lineChart(times, get(func(p model.Point) model.Value { return p.PendingCount }), from, to, w, h, rate, model.Unknown(), st), w))
	out = append(out, titled("pending oldest age", lineChart(times, get(func(p model.Point) model.Value { return p.PendingOldest }), from, to, w, h, secs, model.Unknown(), st), w))
	return out
}

// titled puts a title line over a chart block.
func titled(title, body string, w int) string {
	return pad(title, w, false) + "\n" + body
}

// lineChart draws vals over [from, to] with ntcharts' time-series chart;
// limit, when known, is drawn as a dotted line (a timeout, a pool maximum)
// on the cells the data leaves free. Unknown points are skipped, and a
// series with no known point says so instead of drawing a flat zero.
func lineChart(times []time.Time, vals []model.Value, from, to time.Time, w, h int, yfmt func(float64) string, limit model.Value, st styles) string {
	top := 0.0
	n := 0
	for _, v := range vals {
		if v.Known() {
			top = math.Max(top, float64(v))
			n++
		}
	}
	if n == 0 {
		return lipgloss.Place(w, h, lipgloss.Center, lipgloss.Center, st.dim.Render("— no data —"))
	}
	if limit.Known() {
		top = math.Max(top, float64(limit))
	}
	if top == 0 {
		top = 1
	}
	top *= 1.1
	if !to.After(from) {
		to = from.Add(time.Second)
	}
	c := tslc.New(w, h,
		tslc.WithTimeRange(from, to),
		tslc.WithYRange(0, top),
		tslc.WithXYSteps(2, 2),
		tslc.WithXLabelFormatter(func(_ int, v float64) string {
			return "-" + format.Age(to.Sub(time.Unix(int64(v), 0)))
		}),
		tslc.WithYLabelFormatter(func(_ int, v float64) string { return yfmt(v) }),
		tslc.WithStyle(st.chart),
	)
	for i, v := range vals {
		if v.Known() {
			c.Push(tslc.TimePoint{Time: times[i], Value: float64(v)})
		}
	}
	c.Draw()
	if limit.Known() {
		drawLimit(&c.Model, float64(limit), st.timeout)
	}
	return c.View()
}

// drawLimit draws a horizontal dotted line at y on the empty cells of the
// chart's graph area.
func drawLimit(m *linechart.Model, y float64, s lipgloss.Style) {
	p := m.ScaleFloat64Point(canvas.Float64Point{X: m.ViewMinX(), Y: y})
	cp := canvas.CanvasPointFromFloat64Point(m.Origin(), p)
	for x := m.Origin().X + 1; x < m.Canvas.Width(); x++ {
		pt := canvas.Point{X: x, Y: cp.Y}
		if cp.Y >= 0 && cp.Y < m.Origin().Y && m.Canvas.Cell(pt).Rune == 0 {
			m.Canvas.SetCell(pt, canvas.NewCellWithStyle('┄', s))
		}
	}
}

// shades are the no-colour heatmap levels, lightest first.
var shades = []rune(" ░▒▓█")

// heatmap draws the latency histogram over time: one row per (merged)
// bucket, slowest on top, one column per history point, intensity on a log
// scale. Hand-rolled: ntcharts' heatmap only paints cell backgrounds, which
// vanish in monochrome, so shade characters carry the intensity in both
// modes and colour (when allowed) only doubles it.
func heatmap(dep *model.Dependency, w, h int, st styles, noColor bool) string {
	bounds := dep.BucketBounds
	if len(bounds) == 0 {
		return lipgloss.Place(w, h, lipgloss.Center, lipgloss.Center, st.dim.Render("— no histogram —"))
	}
	const labelW = 7
	cols := max(1, w-labelW)
	hist := dep.History
	if len(hist) > cols {
		hist = hist[len(hist)-cols:]
	}
	rows := min(h, len(bounds))
	per := (len(bounds) + rows - 1) / rows // buckets merged per row
	rows = (len(bounds) + per - 1) / per
	grid := make([][]float64, rows)
	top := 0.0
	for r := range grid {
		grid[r] = make([]float64, len(hist))
		for c, p := range hist {
			for b := r * per; b < min(len(bounds), (r+1)*per) && b < len(p.Buckets); b++ {
				if v := p.Buckets[b]; !math.IsNaN(v) && v > 0 {
					grid[r][c] += v
				}
			}
			top = math.Max(top, grid[r][c])
		}
	}
	var b strings.Builder
	for r := rows - 1; r >= 0; r-- {
		ub := bounds[min(len(bounds)-1, (r+1)*per-1)]
		label := "≤" + format.Seconds(model.Value(ub))
		if math.IsInf(ub, 1) {
			label = ">" + format.Seconds(model.Value(bounds[max(0, len(bounds)-2)]))
		}
		b.WriteString(pad(label, labelW-1, true) + " ")
		b.WriteString(strings.Repeat(" ", cols-len(hist)))
		for c := range hist {
			lvl := 0
			if v := grid[r][c]; v > 0 && top > 0 {
				lvl = 1 + int(math.Log1p(v)/math.Log1p(top)*float64(len(shades)-2)+0.5)
				lvl = min(lvl, len(shades)-1)
			}
			ch := string(shades[lvl])
			if !noColor && lvl > 0 {
				ch = st.chart.Render(ch)
			}
			b.WriteString(ch)
		}
		if r > 0 {
			b.WriteByte('\n')
		}
	}
	return lipgloss.PlaceVertical(h, lipgloss.Top, b.String())
}

// timelineRunes draw breaker states over time; shapes, not colours.
var timelineRunes = map[model.BreakerState]rune{
	model.BreakerClosed:     '_',
	model.BreakerOpen:       '█',
	model.BreakerHalfOpen:   '▄',
	model.BreakerForcedOpen: '▓',
	model.BreakerDisabled:   '·',
}

// breakerTimeline draws the breaker's state over [from, to], the charts'
// window, in the cells left of a legend: each cell shows the worst state
// seen in its slice of time, or the state carried from before it when no
// scrape fell in it; blank before the first point and after the last (a
// stale dependency's state is not known since).
func breakerTimeline(hist []model.Point, from, to time.Time, w int) string {
	const legend = "  _ closed █ open ▄ half-open ▓ forced · disabled"
	cells := max(1, w-len([]rune(legend)))
	span := to.Sub(from)
	cell := make([]model.BreakerState, cells)
	var carry model.BreakerState // the state before the current cell
	i := 0
	for ; i < len(hist) && hist[i].Time.Before(from); i++ {
		carry = hist[i].Breaker
	}
	for c := range cells {
		start := from.Add(span * time.Duration(c) / time.Duration(cells))
		end := from.Add(span * time.Duration(c+1) / time.Duration(cells))
		if i == len(hist) && (len(hist) == 0 || hist[len(hist)-1].Time.Before(start)) {
			break
		}
		cell[c] = carry
		seen := false
		for ; i < len(hist) && (hist[i].Time.Before(end) || c == cells-1); i++ {
			if !seen || breakerRank(model.Breaker{State: hist[i].Breaker}) > breakerRank(model.Breaker{State: cell[c]}) {
				cell[c] = hist[i].Breaker
			}
			seen = true
			carry = hist[i].Breaker
		}
	}
	var b strings.Builder
	for _, st := range cell {
		r, ok := timelineRunes[st]
		switch {
		case st == "":
			r = ' '
		case !ok:
			r = '?'
		}
		b.WriteRune(r)
	}
	return b.String() + legend
}

// findingLine is one finding: severity word and symbol, then its message.
func findingLine(f model.Finding, st styles) string {
	if f.Severity == model.Critical {
		return st.critical.Render("✖ CRIT") + " " + f.Message
	}
	return st.warning.Render("▲ WARN") + " " + f.Message
}
