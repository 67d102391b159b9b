package incident

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"resiltop/internal/format"
	"resiltop/internal/model"
)

// clock formats a time of the report: UTC, to the second.
func clock(t time.Time) string { return t.UTC().Format("15:04:05") }

// span formats a window "03:04:10–03:04:25 (15s)"; an open end is the recording's end.
func span(a, b time.Time) string {
	return clock(a) + "–" + clock(b) + " (" + format.Age(b.Sub(a)) + ")"
}

// who names a dependency of a target, or the target itself.
func (s *Summary) who(target, dep string) string {
	t := target
	if len(s.Targets) == 1 && dep != "" {
		return dep
	}
	if dep == "" {
		return t
	}
	return dep + " @ " + t
}

// headline is the first paragraph: what was recorded.
func (s *Summary) headline() string {
	h := fmt.Sprintf("Recorded %s to %s UTC (%s): %d scrapes of %d target(s), every %s.",
		s.Start.UTC().Format("2006-01-02 15:04:05"), clock(s.End), format.Age(s.End.Sub(s.Start)),
		s.Scrapes, len(s.Targets), s.Interval)
	if s.Skipped > 0 {
		h += fmt.Sprintf(" The last record was cut short (recording interrupted); its %d bytes were skipped.", s.Skipped)
	}
	return h
}

// troubleLines say when each dependency was in trouble.
func (s *Summary) troubleLines() []string {
	var out []string
	for _, w := range s.Troubles {
		kinds := make([]string, len(w.Kinds))
		for i, k := range w.Kinds {
			kinds[i] = string(k)
		}
		out = append(out, s.who(w.Target, w.Dependency)+": "+span(w.Start, w.End)+" — "+strings.Join(kinds, ", "))
	}
	return out
}

// worstLine describes the worst minute.
func (s *Summary) worstLine() string {
	if s.Worst.Failed == 0 {
		return "No failed calls were recorded."
	}
	type part struct {
		who string
		n   float64
	}
	var parts []part
	for k, n := range s.Worst.ByDep {
		parts = append(parts, part{k, n})
	}
	slices.SortFunc(parts, func(a, b part) int {
		if a.n != b.n {
			return int(math.Copysign(1, b.n-a.n))
		}
		return strings.Compare(a.who, b.who)
	})
	var ps []string
	for _, p := range parts {
		target, dep, _ := strings.Cut(p.who, " ")
		ps = append(ps, s.who(target, dep)+" "+fmt.Sprintf("%.0f", p.n))
	}
	return fmt.Sprintf("%s UTC: %.0f failed calls (%s).", span(s.Worst.Start, s.Worst.End), s.Worst.Failed, strings.Join(ps, ", "))
}

// event is one line of the timeline.
type event struct {
	at      time.Time
	who     string
	text    string
	sev     model.Severity // "" for a breaker transition
	starts  bool
	advice  string
	message string
}

// timeline merges finding starts and ends with breaker transitions, by time.
func (s *Summary) timeline() []event {
	var evs []event
	for _, sp := range s.Spans {
		who := s.who(sp.Target, sp.Dependency)
		evs = append(evs, event{at: sp.Start, who: who, sev: sp.Severity, starts: true,
			text: string(sp.Kind) + " (" + string(sp.Severity) + ")", advice: sp.Advice, message: sp.Message})
		if !sp.End.IsZero() {
			evs = append(evs, event{at: sp.End, who: who, text: string(sp.Kind) + " cleared", sev: sp.Severity})
		}
	}
	for _, e := range s.Transitions {
		evs = append(evs, event{at: e.Time, who: s.who(e.Target, e.Dependency), text: e.Message})
	}
	slices.SortStableFunc(evs, func(a, b event) int { return a.at.Compare(b.at) })
	return evs
}

// peak is the largest known value of f over h, or unknown.
func peak(h []model.Point, f func(model.Point) model.Value) model.Value {
	best := model.Unknown()
	for _, p := range h {
		if v := f(p); v.Known() && (!best.Known() || v > best) {
			best = v
		}
	}
	return best
}

func calls(p model.Point) model.Value { return p.CallsPerSecond }

// errorsPerSecond is the rate of calls that did not succeed.
func errorsPerSecond(p model.Point) model.Value {
	if !p.CallsPerSecond.Known() || !p.ErrorRatio.Known() {
		return model.Unknown()
	}
	return p.CallsPerSecond * p.ErrorRatio
}

func p99(p model.Point) model.Value { return p.Latency.P99 }

// Markdown writes the summary as Markdown.
func Markdown(w io.Writer, s *Summary) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Incident report: %s\n\n%s\n\n", s.Name, s.headline())
	b.WriteString("## When things went wrong\n\n")
	if lines := s.troubleLines(); len(lines) > 0 {
		for _, l := range lines {
			b.WriteString("- " + l + "\n")
		}
	} else {
		b.WriteString("No critical finding held during the recording.\n")
	}
	b.WriteString("\n**Worst minute:** " + s.worstLine() + "\n\n")
	b.WriteString("## Timeline (UTC)\n\n| time | where | what |\n|---|---|---|\n")
	for _, e := range s.timeline() {
		what := e.text
		if e.message != "" {
			what += ": " + e.message
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", clock(e.at), mdCell(e.who), mdCell(what))
	}
	b.WriteString("\n## Dependencies\n")
	for _, d := range s.Deps {
		fmt.Fprintf(&b, "\n### %s\n\n", s.who(d.Target, d.Name))
		fmt.Fprintf(&b, "Peak calls %s/s, errors %s/s, p99 %s. Under a critical finding for %s.\n\n",
			format.Rate(peak(d.History, calls)), format.Rate(peak(d.History, errorsPerSecond)),
			format.Seconds(peak(d.History, p99)), format.Age(d.Critical))
		fmt.Fprintf(&b, "```\ncalls/s  %s\nerrors/s %s\np99      %s\n```\n", spark(d.History, calls),
			spark(d.History, errorsPerSecond), spark(d.History, p99))
		if line := transitionsLine(d.Transitions); line != "" {
			b.WriteString(line + "\n\n")
		}
		advised := map[model.FindingKind]bool{}
		for _, sp := range d.Spans {
			end := "end"
			if !sp.End.IsZero() {
				end = clock(sp.End)
			}
			fmt.Fprintf(&b, "- %s %s, %s–%s: %s\n", sp.Severity, sp.Kind, clock(sp.Start), end, mdCell(sp.Message))
			if !advised[sp.Kind] && sp.Advice != "" {
				advised[sp.Kind] = true
				fmt.Fprintf(&b, "  - next step: %s\n", sp.Advice)
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// transitionsLine lists a breaker's transitions: "Breaker: 03:04:10
// breaker closed → open, 03:04:20 breaker open → closed."; "" when none.
func transitionsLine(evs []model.Event) string {
	if len(evs) == 0 {
		return ""
	}
	parts := make([]string, len(evs))
	for i, e := range evs {
		parts[i] = clock(e.Time) + " " + e.Message
	}
	return "Breaker: " + strings.Join(parts, ", ") + "."
}

// mdCell keeps a table cell on one line and its pipes literal.
func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// sparkRunes are eight block heights.
var sparkRunes = []rune("▁▂▃▄▅▆▇█")

// spark draws f over h in at most 60 characters, each the largest value
// of its share of the steps; "·" where unknown.
func spark(h []model.Point, f func(model.Point) model.Value) string {
	const width = 60
	if len(h) == 0 {
		return "(no data)"
	}
	n := min(width, len(h))
	vals := make([]model.Value, n)
	for i := range vals {
		vals[i] = model.Unknown()
		for _, p := range h[i*len(h)/n : (i+1)*len(h)/n] {
			if v := f(p); v.Known() && (!vals[i].Known() || v > vals[i]) {
				vals[i] = v
			}
		}
	}
	top := peak(h, f)
	var b strings.Builder
	for _, v := range vals {
		switch {
		case !v.Known():
			b.WriteRune('·')
		case top <= 0:
			b.WriteRune(sparkRunes[0])
		default:
			b.WriteRune(sparkRunes[min(len(sparkRunes)-1, int(float64(v)/float64(top)*float64(len(sparkRunes)-1)+0.5))])
		}
	}
	return b.String()
}
