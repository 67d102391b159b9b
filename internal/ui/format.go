package ui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"resiltop/internal/format"
	"resiltop/internal/model"
)

// unknown is how a value that cannot be known is shown: never as zero.
const unknown = format.Unknown

// fmtDuration formats a window or interval: 30s, 1m, 15m, 1.5s.
func fmtDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return unknown
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	case d%time.Second == 0:
		return fmt.Sprintf("%ds", d/time.Second)
	case d < time.Second:
		return fmt.Sprintf("%dms", d/time.Millisecond)
	default:
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
}

// breakerSymbols give every state a distinct shape, so the state reads
// without colour.
var breakerSymbols = map[model.BreakerState]string{
	model.BreakerClosed:     "●",
	model.BreakerOpen:       "✖",
	model.BreakerHalfOpen:   "◐",
	model.BreakerForcedOpen: "⊘",
	model.BreakerDisabled:   "○",
}

// breakerLabel is a breaker's word and symbol. An Envoy concurrency limit is
// shown as LIMIT(<which>), never as OPEN: the breaker did not trip.
func breakerLabel(b model.Breaker) string {
	if b.Limit != "" {
		return "▲ " + format.Breaker(b)
	}
	sym, ok := breakerSymbols[b.State]
	if !ok {
		return unknown
	}
	return sym + " " + format.Breaker(b)
}

// findingTags are the short tags of the overview's FINDINGS column.
var findingTags = map[model.FindingKind]string{
	model.TargetDown:        "DOWN",
	model.BreakerOpenKind:   "OPEN",
	model.BreakerFlapping:   "FLAP",
	model.RetryStorm:        "RETRY",
	model.PoolExhausted:     "POOL",
	model.BulkheadSaturated: "BULK",
	model.TailNearTimeout:   "TAIL",
	model.TimeoutsRising:    "T/O",
	model.BacklogGrowing:    "BACKLOG",
	model.BacklogStale:      "OLD-PENDING",
}

// findingTag is a finding's short tag; critical ones carry a leading "!".
func findingTag(f model.Finding) string {
	t, ok := findingTags[f.Kind]
	if !ok {
		t = strings.ToUpper(string(f.Kind))
	}
	if f.Severity == model.Critical {
		return "!" + t
	}
	return t
}

// pad fits s into exactly w cells, truncating with "…" or padding with
// spaces; right aligns numbers.
func pad(s string, w int, right bool) string {
	if w <= 0 {
		return ""
	}
	sw := ansi.StringWidth(s)
	if sw > w {
		return ansi.Truncate(s, w, "…")
	}
	if sw == w {
		return s
	}
	if right {
		return strings.Repeat(" ", w-sw) + s
	}
	return s + strings.Repeat(" ", w-sw)
}

// fit truncates s to at most w cells.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if ansi.StringWidth(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, "…")
}

// wrapWords breaks plain text into lines of at most w cells at spaces only
// (ansi.Wordwrap also breaks at hyphens, which would split a flag such as
// --profile); a word wider than w gets a line of its own, left for fit to cut.
func wrapWords(s string, w int) []string {
	var lines []string
	var cur strings.Builder
	curW := 0
	for _, word := range strings.Fields(s) {
		ww := ansi.StringWidth(word)
		if curW > 0 && curW+1+ww > w {
			lines = append(lines, cur.String())
			cur.Reset()
			curW = 0
		}
		if curW > 0 {
			cur.WriteByte(' ')
			curW++
		}
		cur.WriteString(word)
		curW += ww
	}
	if curW > 0 {
		lines = append(lines, cur.String())
	}
	return lines
}

// sparkRunes are the eight block heights of a sparkline.
var sparkRunes = []rune("▁▂▃▄▅▆▇█")

// sparkline draws vals (oldest first) into w cells scaled to their maximum;
// unknown points are blank, so a gap never looks like zero. Hand-rolled
// rather than ntcharts' sparkline because it is built for every row on every
// snapshot, and a canvas with a lipgloss render per cell costs far more than
// this (see BenchmarkSparkline).
func sparkline(vals []model.Value, w int) string {
	if w <= 0 {
		return ""
	}
	if len(vals) > w {
		vals = vals[len(vals)-w:]
	}
	maxV := 0.0
	for _, v := range vals {
		if v.Known() && float64(v) > maxV {
			maxV = float64(v)
		}
	}
	var b strings.Builder
	b.Grow(w * 3)
	for i := len(vals); i < w; i++ {
		b.WriteByte(' ')
	}
	for _, v := range vals {
		if !v.Known() {
			b.WriteByte(' ')
			continue
		}
		i := 0
		if maxV > 0 {
			i = int(float64(v) / maxV * float64(len(sparkRunes)-1))
		}
		b.WriteRune(sparkRunes[max(0, min(i, len(sparkRunes)-1))])
	}
	return b.String()
}
