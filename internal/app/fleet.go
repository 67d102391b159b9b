package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"resiltop/internal/admin"
	"resiltop/internal/config"
	"resiltop/internal/model"
	"resiltop/internal/scrape"
)

// defaultPromScrapeInterval is Prometheus's default scrape_interval, the
// confirmation grace when resiltop has not seen the real one.
const defaultPromScrapeInterval = time.Minute

// newFleet builds fleet mode's Source: it asks Prometheus for exactly the
// families the profiles read, and gives the resolver admin URLs from
// --admin-template. A selector Prometheus rejects is a usage error, in
// Prometheus's words.
func newFleet(ctx context.Context, cfg *config.Config, profiles []model.Profile, resolver *admin.Resolver) (*scrape.PromSource, error) {
	src, err := scrape.NewProm(scrape.PromConfig{
		URL: cfg.Prometheus.URL, Selector: cfg.Prometheus.Selector, GroupBy: cfg.Prometheus.GroupBy,
		Families: families(inUse(profiles, cfg.Prometheus.Profiles)), Interval: cfg.Interval, Timeout: cfg.Timeout,
		BodyLimit: cfg.BodyLimit, MaxSeries: cfg.MaxSeries, HTTP: cfg.HTTP,
	})
	if err != nil {
		return nil, err
	}
	if err := src.Check(ctx); err != nil {
		return nil, err
	}
	resolver.AdminFor = adminFor(cfg.Prometheus.AdminTemplate, cfg.Prometheus.GroupBy, src)
	return src, nil
}

// inUse returns the profiles --profile names, or all of them when it names none.
func inUse(profiles []model.Profile, names []string) []model.Profile {
	if len(names) == 0 {
		return profiles
	}
	return slices.DeleteFunc(slices.Clone(profiles), func(p model.Profile) bool { return !slices.Contains(names, p.Name()) })
}

// families is the union of the families the profiles read, sorted.
func families(profiles []model.Profile) []string {
	var out []string
	for _, p := range profiles {
		out = append(out, p.Families()...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// adminFor makes a row's admin URL from --admin-template and the row's
// target labels; without a template it says how to set one.
func adminFor(text, groupBy string, src *scrape.PromSource) func(string) (string, error) {
	return func(target string) (string, error) {
		if text == "" {
			return "", fmt.Errorf("no admin URL in fleet mode: pass --admin-template 'http://{{.%s}}/actuator'", groupBy)
		}
		labels := src.TargetLabels(target)
		if labels == nil {
			return "", fmt.Errorf("no target labels of %s in Prometheus's answer yet", target)
		}
		tmpl, err := config.AdminTemplate(text)
		if err != nil {
			return "", err
		}
		var b strings.Builder
		if err := tmpl.Execute(&b, labels); err != nil {
			return "", fmt.Errorf("--admin-template for %s: %w", target, errors.Unwrap(err))
		}
		return b.String(), nil
	}
}

// backfill loads --history from Prometheus through ingest before the first
// frame, and returns how much longer than usual admin confirmations may
// take: one Prometheus scrape interval (a minute, Prometheus's default,
// where its API does not say).
func backfill(ctx context.Context, cfg *config.Config, src *scrape.PromSource, ingest func(model.Scrape)) time.Duration {
	// A failure stays on the Prometheus row as a warning; the live view
	// does not need the history.
	_, _ = src.Backfill(ctx, cfg.History, ingest)
	if d := src.ScrapeInterval(ctx); d > 0 {
		return d
	}
	return defaultPromScrapeInterval
}
