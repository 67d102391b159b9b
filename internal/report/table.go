package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"resiltop/internal/format"
	"resiltop/internal/model"
)

// Table writes the snapshot as aligned plain text: targets, one row per
// dependency (worst first, as the snapshot orders them), then the findings.
// It never colours: it is what `--once` prints and what a pipe receives.
func Table(w io.Writer, s *model.Snapshot) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, t := range s.Targets {
		fmt.Fprintf(tw, "TARGET\t%s\t%s\n", t.URL, targetStatus(t, s))
	}
	fmt.Fprintln(tw)
	multi := len(s.Targets) > 1
	head := "NAME\tBREAKER\tCALLS/s\tERR%\tT/O/s\tRETRY%\tp50\tp99\tTIMEOUT\tPOOL\tBULKHEAD\tPENDING\tFINDINGS"
	if multi {
		head = "TARGET\t" + head
	}
	fmt.Fprintln(tw, head)
	for _, d := range s.Dependencies {
		name := d.Name
		if d.Stale {
			name += " (stale " + format.Age(s.Time.Sub(d.LastSeen)) + ")"
		}
		row := []string{
			name, format.Breaker(d.Breaker), format.Rate(d.CallsPerSecond), format.Percent(d.ErrorRatio),
			format.Rate(d.TimeoutsPerSecond), format.Percent(d.RetryRatio),
			format.Seconds(d.Latency.P50), format.Seconds(d.Latency.P99), format.Seconds(d.TimeoutSeconds),
			pool(d.Pool), format.Used(d.Bulkhead.InFlight, d.Bulkhead.Max), pending(d.Pending), kinds(d.Findings),
		}
		if multi {
			row = append([]string{d.Target}, row...)
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(s.Findings) > 0 {
		fmt.Fprintln(w, "\nFINDINGS")
		for _, f := range s.Findings {
			msg := f.Message
			if multi && f.Dependency != "" {
				msg = f.Target + "  " + msg // which replica's pg this is
			}
			fmt.Fprintf(w, "%-8s  %s\n", f.Severity, msg)
		}
	}
	return nil
}

func targetStatus(t model.TargetHealth, s *model.Snapshot) string {
	var msg string
	switch {
	case t.Up && t.Source:
		msg = "up, answered in " + format.Seconds(model.Value(t.ScrapeDuration.Seconds())) + " (the source of the other targets)"
	case t.Up:
		msg = fmt.Sprintf("up, %d series in %s, profiles: %s", t.Series,
			format.Seconds(model.Value(t.ScrapeDuration.Seconds())), orDash(strings.Join(t.Profiles, ",")))
	default:
		msg = "DOWN: " + t.Err
		if !t.LastSuccess.IsZero() {
			msg += " (last success " + format.Age(s.Time.Sub(t.LastSuccess)) + " ago)"
		}
	}
	if len(t.Warnings) > 0 {
		msg += "; warnings: " + strings.Join(t.Warnings, "; ")
	}
	return msg
}

func pool(p model.Pool) string {
	out := format.Used(p.InUse, p.Max)
	if p.Pending.Known() && p.Pending > 0 {
		out += "+" + format.Count(p.Pending) + "w"
	}
	return out
}

func pending(p model.Pending) string {
	if !p.Count.Known() {
		return format.Unknown
	}
	if p.OldestAgeSeconds.Known() && p.Count > 0 {
		return format.Count(p.Count) + " (" + format.AgeSeconds(p.OldestAgeSeconds) + ")"
	}
	return format.Count(p.Count)
}

func kinds(fs []model.Finding) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = string(f.Kind)
	}
	return orDash(strings.Join(names, ","))
}

func orDash(s string) string {
	if s == "" {
		return format.Unknown
	}
	return s
}
