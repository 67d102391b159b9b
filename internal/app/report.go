package app

import (
	"errors"
	"flag"
	"fmt"
	"path/filepath"

	"resiltop/internal/config"
	"resiltop/internal/incident"
	"resiltop/internal/model"
	"resiltop/internal/profile"
)

// reportUsage is `resiltop report -h`.
const reportUsage = `Usage: resiltop report FILE [-o md|html]

Summarizes a recording (resiltop --record FILE) for a post-mortem: when each
dependency was in trouble, the worst minute, a timeline of findings and breaker
transitions, and charts of calls, errors and p99. -o html writes one
self-contained page (inline SVG, no external assets); md (the default) Markdown.
It reads with the built-in profiles and the default thresholds.
`

// reportCommand runs `resiltop report FILE -o md|html`, writing to stdout.
func reportCommand(args []string, env Env) int {
	rc, err := config.ParseReport(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(env.Stdout, reportUsage)
		return ExitOK
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "resiltop: %v\nRun 'resiltop report -h' for usage.\n", err)
		return ExitUsage
	}
	f, ok := openRecording(rc.File, env)
	if !ok {
		return ExitUsage
	}
	defer f.Close()
	sum, err := incident.Build(f.All(), f.Span(), incident.Options{
		Name: filepath.Base(rc.File), Interval: f.Meta().Interval, Skipped: f.Skipped(),
		Store: model.StoreOptions{Profiles: profile.Builtin()},
	})
	if err != nil {
		fmt.Fprintf(env.Stderr, "resiltop: %s: %v\n", rc.File, err)
		return ExitFailure
	}
	write := incident.Markdown
	if rc.Output == config.ReportHTML {
		write = incident.HTML
	}
	if err := write(env.Stdout, sum); err != nil {
		fmt.Fprintf(env.Stderr, "resiltop: %v\n", err)
		return ExitFailure
	}
	return ExitOK
}
