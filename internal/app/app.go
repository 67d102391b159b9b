// Package app wires resiltop together: configuration, the scrape Source,
// the model Store, the admin Resolver, the demo simulator, and either the
// TUI or a one-shot report. It holds no metric or screen logic of its own.
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"resiltop/internal/admin"
	"resiltop/internal/config"
	"resiltop/internal/model"
	"resiltop/internal/pgsim"
	"resiltop/internal/profile"
	"resiltop/internal/record"
	"resiltop/internal/report"
	"resiltop/internal/scrape"
	"resiltop/internal/ui"
)

// Exit codes of resiltop (README, "--once and its JSON").
const (
	ExitOK         = 0 // every target answered (and no finding reached --fail-on)
	ExitFindings   = 1 // a finding of the --fail-on severity or worse
	ExitUsage      = 2 // bad flags, config file or environment
	ExitTargetDown = 3 // a target could not be scraped
	ExitFailure    = 4 // resiltop itself could not run (terminal, demo start)
)

// demoRPS is the demo load: the simulator's default order rate.
const demoRPS = 20

// Env is what Main needs from the process.
type Env struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// Terminal reports whether stdout is a terminal; when it is not, resiltop
	// prints the --once table instead of starting the TUI.
	Terminal bool
}

// Main runs resiltop with args (without the program name) and returns the
// exit code.
func Main(ctx context.Context, args []string, env Env) int {
	if len(args) > 0 && args[0] == "report" {
		return reportCommand(args[1:], env)
	}
	cfg, err := config.Parse(args, env.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(env.Stdout, config.Usage())
		return ExitOK
	}
	if err != nil {
		return usage(env, err)
	}
	profiles := profile.Builtin()
	if cfg.Profiles.Kind != 0 {
		mappings, err := profile.ParseMappings(cfg.ProfilesFile, &cfg.Profiles)
		if err != nil {
			return usage(env, err)
		}
		profiles = append(profiles, mappings...)
	}
	resolver := &admin.Resolver{
		Default: admin.Settings{Token: cfg.AdminToken.Reveal(), HAProxyAdmin: cfg.HAProxyAdmin, ReadOnly: cfg.ReadOnly},
		Targets: map[string]admin.Settings{},
	}
	var sim *pgsim.Sim
	if cfg.Demo {
		if sim, err = pgsim.Start(ctx, pgsim.Config{RPS: demoRPS}); err != nil {
			fmt.Fprintf(env.Stderr, "resiltop: starting the demo simulator: %v\n", err)
			return ExitFailure
		}
		defer sim.Close()
		// The demo passes its own token internally; the user never sees it.
		cfg.Endpoints = append(cfg.Endpoints, config.Endpoint{URL: sim.MetricsURL, Admin: sim.AdminURL})
		resolver.Targets[sim.MetricsURL] = admin.Settings{Admin: sim.AdminURL, Token: sim.Token(), ReadOnly: cfg.ReadOnly}
	}
	forced := map[string][]string{}
	for _, e := range cfg.Endpoints {
		if len(e.Profiles) > 0 {
			forced[e.URL] = e.Profiles
		}
		if _, ok := resolver.Targets[e.URL]; !ok {
			s := resolver.Default
			s.Admin = e.Admin
			resolver.Targets[e.URL] = s
		}
	}
	opts := model.StoreOptions{History: cfg.History, Thresholds: cfg.Thresholds, Profiles: profiles, ForceByTarget: forced,
		Force: cfg.Prometheus.Profiles}
	if err := opts.Validate(); err != nil {
		return usage(env, err)
	}
	if cfg.Replay != "" {
		return replay(ctx, cfg, opts, env)
	}
	store := model.NewStore(opts)
	oneShot := cfg.Once || !env.Terminal
	var (
		src   scrape.Source
		fleet *scrape.PromSource
		grace time.Duration
	)
	if cfg.Prometheus.URL != "" {
		if fleet, err = newFleet(ctx, cfg, profiles, resolver); err != nil {
			return usage(env, err)
		}
		src = fleet
	} else if src, err = scrape.New(scrapeTargets(cfg, opts)); err != nil {
		return usage(env, err)
	}
	sk := &sink{store: store}
	if cfg.Record != "" {
		meta := record.Meta{Started: time.Now(), Interval: cfg.Interval, Window: cfg.Window, Source: "targets"}
		if fleet != nil {
			meta.Source = "prometheus"
		}
		sk.rec, err = record.Create(cfg.Record, meta, record.Options{Limit: cfg.RecordMax, Keep: record.KeepFamilies(profiles)})
		if err != nil {
			return usage(env, err)
		}
		defer sk.rec.Close()
	}
	if fleet != nil && !oneShot {
		// Before the screen takes over, so a slow Prometheus is not a blank
		// terminal; the history it reads is recorded like any scrape.
		fmt.Fprintf(env.Stderr, "resiltop: reading the last %s from %s…\n", cfg.History, fleet.Name())
		grace = backfill(ctx, cfg, fleet, sk.ingest)
	}
	if oneShot {
		return once(ctx, cfg, sk, src, env)
	}
	err = watch(ctx, cfg, sk, src, resolver, sim, grace)
	if err != nil {
		fmt.Fprintf(env.Stderr, "resiltop: %v\n", err)
		return ExitFailure
	}
	return ExitOK
}

// scrapeTargets are the configured targets, each told the profiles that
// may read it, so its pages are decoded only as far as those read.
func scrapeTargets(cfg *config.Config, opts model.StoreOptions) []scrape.Target {
	targets := cfg.Targets()
	for i := range targets {
		targets[i].Profiles = opts.Candidates(targets[i].URL)
	}
	return targets
}

// usage reports a mistake in how resiltop was invoked.
func usage(env Env, err error) int {
	fmt.Fprintf(env.Stderr, "resiltop: %v\nRun 'resiltop -h' for usage.\n", err)
	return ExitUsage
}

// historySource is a Source that can replay recent history (fleet mode).
type historySource interface {
	Backfill(ctx context.Context, span time.Duration, emit func(model.Scrape)) (time.Duration, error)
}

// once scrapes every target, waits one interval, scrapes again (so rates
// exist), prints the snapshot and returns the exit code. A source with
// history (Prometheus) needs no wait: it replays the last window, then
// reads once more.
func once(ctx context.Context, cfg *config.Config, sk *sink, src scrape.Source, env Env) int {
	if h, ok := src.(historySource); ok {
		// A failure here shows in the reading that follows.
		_, _ = h.Backfill(ctx, cfg.Window, sk.ingest)
	} else {
		for _, s := range src.ScrapeAll(ctx) {
			sk.ingest(s)
		}
		select {
		case <-ctx.Done():
			fmt.Fprintln(env.Stderr, "resiltop: interrupted before the second scrape")
			return ExitFailure
		case <-time.After(cfg.Interval):
		}
	}
	down := false
	for _, s := range src.ScrapeAll(ctx) {
		sk.ingest(s)
		down = down || s.Err != nil
	}
	return printSnapshot(cfg, sk.store.Snapshot(time.Now(), cfg.Window), down, env)
}

// printSnapshot writes snap as --once output and returns the exit code; down says
// a target's last scrape failed.
func printSnapshot(cfg *config.Config, snap *model.Snapshot, down bool, env Env) int {
	write := report.Table
	if cfg.Output == config.OutputJSON {
		write = report.JSON
	}
	if err := write(env.Stdout, snap); err != nil {
		fmt.Fprintf(env.Stderr, "resiltop: %v\n", err)
		return ExitFailure
	}
	switch {
	case down:
		return ExitTargetDown
	case reaches(snap.Findings, cfg.FailOn):
		return ExitFindings
	}
	return ExitOK
}

// reaches reports whether any finding is at least as severe as failOn.
func reaches(findings []model.Finding, failOn model.Severity) bool {
	for _, f := range findings {
		if failOn == model.Warning || (failOn == model.Critical && f.Severity == model.Critical) {
			return true
		}
	}
	return false
}

// watch runs the TUI while the Source scrapes into the Store.
// confirmGrace lengthens the wait for an admin action's confirmation (fleet
// mode: one Prometheus scrape interval).
func watch(ctx context.Context, cfg *config.Config, sk *sink, src scrape.Source, resolver *admin.Resolver, sim *pgsim.Sim, confirmGrace time.Duration) error {
	store := sk.store
	updates := make(chan struct{}, 1)
	opts := ui.Options{
		Snapshot:  store.Snapshot,
		Updates:   updates,
		ScrapeNow: src.ScrapeNow,
		Interval:  cfg.Interval,
		Window:    cfg.Window,
		Switch: func(target string) (admin.Switch, error) {
			return resolver.For(target, targetProfiles(store.Snapshot(time.Now(), cfg.Window), target))
		},
		ConfirmGrace: confirmGrace,
		ReadOnly:     cfg.ReadOnly,
		NoColor:      cfg.NoColor,
		Mouse:        cfg.Mouse,
	}
	if sk.rec != nil {
		opts.Note = sk.rec.Status
	}
	if sim != nil {
		opts.Scenarios = sim
	}
	return runUI(ctx, src, sk.ingest, updates, opts)
}

// runUI runs src into ingest, signalling updates after each scrape, while
// the TUI runs; it returns when the user quits or ctx is done.
func runUI(ctx context.Context, src scrape.Source, ingest func(model.Scrape), updates chan struct{}, opts ui.Options) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		src.Run(ctx, func(s model.Scrape) {
			ingest(s)
			signal(updates)
		})
	}()
	err := ui.Run(ctx, opts)
	cancel()
	<-done
	return err
}

// signal tells the UI a new snapshot is ready; one pending signal is
// enough, the UI reads the newest snapshot.
func signal(updates chan struct{}) {
	select {
	case updates <- struct{}{}:
	default:
	}
}

// targetProfiles names the profiles detected on target, which decide how
// its breakers are switched (actuator, Envoy runtime, HAProxy runtime API).
func targetProfiles(snap *model.Snapshot, target string) []string {
	for _, t := range snap.Targets {
		if t.URL == target {
			return t.Profiles
		}
	}
	return nil
}
