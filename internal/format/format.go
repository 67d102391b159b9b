// Package format turns model values into the short strings people read on
// a dashboard: "—" for unknown, rates with three significant figures,
// latencies in ms or s, ages as 3m12s. The TUI and the --once table share it
// so the same number never reads two ways.
package format

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"resiltop/internal/model"
)

// Unknown is how an unknown value reads.
const Unknown = "—"

// Rate formats a per-second rate: 0, 0.05, 1.23, 14.2, 1234.
func Rate(v model.Value) string {
	if !v.Known() {
		return Unknown
	}
	return number(float64(v))
}

// Count formats a gauge that counts things (connections, operations).
func Count(v model.Value) string {
	if !v.Known() {
		return Unknown
	}
	f := float64(v)
	if f == math.Trunc(f) && math.Abs(f) < 1e9 {
		return strconv.FormatFloat(f, 'f', 0, 64)
	}
	return number(f)
}

// Percent formats a ratio (0..1, or above 1 for retry ratios) as a percentage.
func Percent(v model.Value) string {
	if !v.Known() {
		return Unknown
	}
	p := float64(v) * 100
	switch {
	case p == 0:
		return "0%"
	case p < 0.1:
		return "<0.1%"
	case p < 10:
		return strconv.FormatFloat(p, 'f', 1, 64) + "%"
	default:
		return strconv.FormatFloat(p, 'f', 0, 64) + "%"
	}
}

// Seconds formats a latency or timeout given in seconds: 850µs, 42ms, 2.4s.
func Seconds(v model.Value) string {
	if !v.Known() {
		return Unknown
	}
	s := float64(v)
	switch {
	case s == 0:
		return "0"
	case s < 1e-3:
		return number(s*1e6) + "µs"
	case s < 1:
		return number(s*1e3) + "ms"
	default:
		return number(s) + "s"
	}
}

// Age formats how long ago something happened, coarsely: 4s, 3m12s, 2h05m.
func Age(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	default:
		return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
}

// AgeSeconds formats an age gauge given in seconds, "—" when unknown.
func AgeSeconds(v model.Value) string {
	if !v.Known() {
		return Unknown
	}
	return Age(time.Duration(float64(v) * float64(time.Second)))
}

// Used formats "used/max", with "—" for either side that is unknown.
func Used(used, max model.Value) string {
	if !used.Known() && !max.Known() {
		return Unknown
	}
	return Count(used) + "/" + Count(max)
}

// number prints three significant figures without exponent for the
// magnitudes a dashboard sees, trimming trailing zeros.
func number(f float64) string {
	a := math.Abs(f)
	switch {
	case a == 0:
		return "0"
	case a >= 100:
		return strconv.FormatFloat(f, 'f', 0, 64)
	case a >= 10:
		return trim(strconv.FormatFloat(f, 'f', 1, 64))
	case a >= 0.01:
		return trim(strconv.FormatFloat(f, 'f', 2, 64))
	default:
		return strconv.FormatFloat(f, 'g', 2, 64)
	}
}

func trim(s string) string {
	for len(s) > 1 && s[len(s)-1] == '0' {
		s = s[:len(s)-1]
	}
	if s[len(s)-1] == '.' {
		s = s[:len(s)-1]
	}
	return s
}

// Breaker names a breaker's state in capitals (CLOSED, FORCED_OPEN, …), or
// the concurrency limit being hit (LIMIT(pending)), "—" when unknown.
func Breaker(b model.Breaker) string {
	switch {
	case b.Limit != "":
		return "LIMIT(" + b.Limit + ")"
	case b.State == "" || b.State == model.BreakerUnknown:
		return Unknown
	default:
		return strings.ToUpper(string(b.State))
	}
}
