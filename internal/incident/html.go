package incident

import (
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"resiltop/internal/format"
	"resiltop/internal/model"
)

// Chart geometry, in SVG user units.
const (
	chartW, chartH = 720, 110
	padL, padR     = 56, 8
	padT, padB     = 8, 20
)

// chart draws f over h as an SVG line chart from start to end, with the
// trouble windows shaded; label names the series. Only numbers and escaped
// text go into it.
func chart(label string, h []model.Point, f func(model.Point) model.Value, unit func(model.Value) string,
	start, end time.Time, troubles []Window) template.HTML {
	span := end.Sub(start).Seconds()
	if span <= 0 {
		span = 1
	}
	top := peak(h, f)
	if !top.Known() || top <= 0 {
		top = 1
	}
	x := func(t time.Time) float64 {
		return padL + (chartW-padL-padR)*t.Sub(start).Seconds()/span
	}
	y := func(v model.Value) float64 { return padT + (chartH-padT-padB)*(1-float64(v)/float64(top)) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s">`,
		chartW, chartH, chartW, chartH, template.HTMLEscapeString(label))
	for _, w := range troubles {
		fmt.Fprintf(&b, `<rect class="trouble" x="%.1f" y="%d" width="%.1f" height="%d"><title>%s</title></rect>`,
			x(w.Start), padT, max(1, x(w.End)-x(w.Start)), chartH-padT-padB, template.HTMLEscapeString(windowSpan(w)))
	}
	fmt.Fprintf(&b, `<line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"/>`, padL, chartH-padB, chartW-padR, chartH-padB)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`, padL-4, padT+8, template.HTMLEscapeString(unit(top)))
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">0</text>`, padL-4, chartH-padB)
	fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`, padL, chartH-4, clock(start))
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`, chartW-padR, chartH-4, clock(end))
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" class="label">%s</text>`, (chartW+padL)/2, chartH-4, template.HTMLEscapeString(label))
	// Unknown values break the line into segments.
	var seg []string
	flush := func() {
		if len(seg) > 0 {
			fmt.Fprintf(&b, `<polyline class="line" points="%s"/>`, strings.Join(seg, " "))
			seg = seg[:0]
		}
	}
	for _, p := range h {
		v := f(p)
		if !v.Known() {
			flush()
			continue
		}
		seg = append(seg, fmt.Sprintf("%.1f,%.1f", x(p.Time), y(v)))
	}
	flush()
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // safe: numbers and escaped text only
}

func windowSpan(w Window) string { return span(w.Start, w.End) }

func rateUnit(v model.Value) string    { return format.Rate(v) + "/s" }
func secondsUnit(v model.Value) string { return format.Seconds(v) }

// htmlDep is one dependency's section of the page.
type htmlDep struct {
	Title, Peaks string
	Transitions  string
	Charts       []template.HTML
	Findings     []htmlFinding
}

type htmlFinding struct{ Severity, Kind, When, Message, Advice string }

type htmlEvent struct{ At, Who, What, Class string }

var page = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Incident report: {{.Name}}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:780px;color:#1d1d1f;background:#fff}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}h3{font-size:1.05em}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:2px 8px;border-bottom:1px solid #eee;vertical-align:top}
td.t{font-family:ui-monospace,monospace;white-space:nowrap}
tr.critical td{color:#b00020}tr.warning td{color:#8a5a00}tr.breaker td{color:#333;font-style:italic}
.chart{display:block;margin:4px 0}.chart text{font:10px ui-monospace,monospace;fill:#555}.chart .label{fill:#1d1d1f}
.line{fill:none;stroke:#0b57d0;stroke-width:1.5}.axis{stroke:#999}.trouble{fill:#b00020;fill-opacity:.15}
.advice{color:#333;margin:0 0 .6em 1.2em}.critical{color:#b00020}.warning{color:#8a5a00}
</style></head><body>
<h1>Incident report: {{.Name}}</h1>
<p>{{.Headline}}</p>
<h2>When things went wrong</h2>
{{if .Troubles}}<ul>{{range .Troubles}}<li class="critical">{{.}}</li>{{end}}</ul>{{else}}<p>No critical finding held during the recording.</p>{{end}}
<p><b>Worst minute:</b> {{.Worst}}</p>
<h2>Timeline (UTC)</h2>
<table><tr><th>time</th><th>where</th><th>what</th></tr>
{{range .Events}}<tr class="{{.Class}}"><td class="t">{{.At}}</td><td>{{.Who}}</td><td>{{.What}}</td></tr>
{{end}}</table>
<h2>Dependencies</h2>
{{range .Deps}}<h3>{{.Title}}</h3><p>{{.Peaks}}</p>{{if .Transitions}}<p>{{.Transitions}}</p>{{end}}
{{range .Charts}}{{.}}{{end}}
{{range .Findings}}<div class="{{.Severity}}">{{.Severity}} {{.Kind}}, {{.When}}: {{.Message}}</div>{{if .Advice}}<div class="advice">Next step: {{.Advice}}</div>{{end}}
{{end}}{{end}}
</body></html>
`))

// HTML writes the summary as one self-contained HTML page: inline CSS and
// SVG charts, no scripts, no external assets.
func HTML(w io.Writer, s *Summary) error {
	data := struct {
		Name, Headline, Worst string
		Troubles              []string
		Events                []htmlEvent
		Deps                  []htmlDep
	}{Name: s.Name, Headline: s.headline(), Worst: s.worstLine(), Troubles: s.troubleLines()}
	for _, e := range s.timeline() {
		what, class := e.text, string(e.sev)
		if e.message != "" {
			what += ": " + e.message
		}
		switch {
		case e.sev == "":
			class = "breaker"
		case !e.starts:
			class = ""
		}
		data.Events = append(data.Events, htmlEvent{At: clock(e.at), Who: e.who, What: what, Class: class})
	}
	for _, d := range s.Deps {
		hd := htmlDep{
			Title: s.who(d.Target, d.Name),
			Peaks: fmt.Sprintf("Peak calls %s/s, errors %s/s, p99 %s. Under a critical finding for %s.",
				format.Rate(peak(d.History, calls)), format.Rate(peak(d.History, errorsPerSecond)),
				format.Seconds(peak(d.History, p99)), format.Age(d.Critical)),
			Transitions: transitionsLine(d.Transitions),
			Charts: []template.HTML{
				chart("calls/s", d.History, calls, rateUnit, s.Start, s.End, d.Troubles),
				chart("errors/s", d.History, errorsPerSecond, rateUnit, s.Start, s.End, d.Troubles),
				chart("p99", d.History, p99, secondsUnit, s.Start, s.End, d.Troubles),
			},
		}
		advised := map[model.FindingKind]bool{}
		for _, sp := range d.Spans {
			end := "end"
			if !sp.End.IsZero() {
				end = clock(sp.End)
			}
			f := htmlFinding{Severity: string(sp.Severity), Kind: string(sp.Kind), When: clock(sp.Start) + "–" + end, Message: sp.Message}
			if !advised[sp.Kind] {
				advised[sp.Kind], f.Advice = true, sp.Advice
			}
			hd.Findings = append(hd.Findings, f)
		}
		data.Deps = append(data.Deps, hd)
	}
	return page.Execute(w, data)
}
