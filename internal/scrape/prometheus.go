package scrape

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	commoncfg "github.com/prometheus/common/config"
	pmodel "github.com/prometheus/common/model"

	"resiltop/internal/model"
)

// Fleet mode: a PromSource asks a Prometheus server (or Thanos, Mimir,
// VictoriaMetrics: anything speaking its HTTP API) for the families the
// profiles read, instead of scraping the services, and splits the answer
// into one page per instance.

// DefaultGroupBy is the label that tells a fleet's members apart.
const DefaultGroupBy = "instance"

// nameLabel is the label that carries a series' metric name.
const nameLabel = "__name__"

// Defaults of a PromConfig's zero fields.
const (
	// DefaultPromInterval is the refresh interval in fleet mode: Prometheus
	// itself scrapes every 15 s to a minute, so asking every second only
	// finds the same samples.
	DefaultPromInterval = 5 * time.Second
	// metadataEvery is how often the families' types are asked for again.
	metadataEvery = 5 * time.Minute
	// queryParallel bounds the queries of one refresh in flight at once.
	queryParallel = 4
)

// PromConfig says which Prometheus to ask, for what, and how.
type PromConfig struct {
	URL string
	// Selector narrows every query: `{job="orders"}` (braces optional).
	// Its matchers are merged into each family's selector.
	Selector string
	// GroupBy is the label whose values become targets; default instance.
	GroupBy string
	// Families are the metric families to ask for: the union of the
	// profiles' Families().
	Families []string
	// Interval is the time between refreshes (default 5 s); Timeout bounds
	// one refresh, every query included (default 80% of Interval, at most
	// 10 s).
	Interval, Timeout time.Duration
	// BodyLimit bounds each answer after decompression (default 64 MiB);
	// MaxSeries bounds the series of one whole refresh, every family
	// together (default 200,000).
	BodyLimit int64
	MaxSeries int
	// HTTP is how Prometheus is reached: TLS, authorization, basic auth.
	HTTP commoncfg.HTTPClientConfig
}

// withDefaults fills in zero fields.
func (c PromConfig) withDefaults() PromConfig {
	if c.GroupBy == "" {
		c.GroupBy = DefaultGroupBy
	}
	if c.Interval <= 0 {
		c.Interval = DefaultPromInterval
	}
	t := Target{Interval: c.Interval, Timeout: c.Timeout, BodyLimit: c.BodyLimit, MaxSeries: c.MaxSeries}.WithDefaults()
	c.Timeout, c.BodyLimit, c.MaxSeries = t.Timeout, t.BodyLimit, t.MaxSeries
	return c
}

var (
	labelNameRE  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	metricNameRE = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
)

// PromSource reads a fleet's pages from Prometheus's HTTP API. Each
// instance (each GroupBy value) is a target whose identity is the label's
// value as Prometheus has it ("10.0.3.7:8080"), since that is what the
// on-call engineer knows the replica by; the Prometheus server itself is
// one more target, named by its URL, that carries the errors, warnings and
// timing of the queries.
type PromSource struct {
	cfg      PromConfig
	matchers string // the inside of the selector's braces
	name     string // the Prometheus target's name: its URL without credentials
	client   api.Client
	api      v1.API
	families []family

	now  chan struct{}
	busy atomic.Bool

	mu     sync.Mutex           // one refresh at a time; guards the fields below
	metaAt time.Time            // when the types were last asked for
	types  map[string]family    // family types from the metadata API
	seen   map[string]seenGroup // groups in earlier answers

	notes []string // warnings that stay on the Prometheus row (a history that could not be read)

	labelsMu sync.RWMutex
	labels   map[string]map[string]string // each group's target labels (the `up` series')
}

// NewProm checks cfg and builds its HTTP client.
func NewProm(cfg PromConfig) (*PromSource, error) {
	cfg = cfg.withDefaults()
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--prometheus %q: not an http(s) URL", cfg.URL)
	}
	if !labelNameRE.MatchString(cfg.GroupBy) {
		return nil, fmt.Errorf("--group-by %q: not a label name", cfg.GroupBy)
	}
	matchers, err := selectorMatchers(cfg.Selector)
	if err != nil {
		return nil, err
	}
	if err := cfg.HTTP.Validate(); err != nil {
		return nil, fmt.Errorf("prometheus HTTP settings: %w", err)
	}
	rt, err := commoncfg.NewRoundTripperFromConfig(cfg.HTTP, "resiltop", commoncfg.WithUserAgent(userAgent))
	if err != nil {
		return nil, fmt.Errorf("prometheus HTTP settings: %w", err)
	}
	client, err := api.NewClient(api.Config{Address: cfg.URL, RoundTripper: &limitedTransport{base: rt, limit: cfg.BodyLimit}})
	if err != nil {
		return nil, fmt.Errorf("--prometheus %q: %w", cfg.URL, err)
	}
	s := &PromSource{
		cfg: cfg, matchers: matchers, name: u.Redacted(), client: client, api: v1.NewAPI(client),
		now: make(chan struct{}, 1), seen: map[string]seenGroup{}, labels: map[string]map[string]string{},
	}
	for _, n := range cfg.Families {
		if metricNameRE.MatchString(n) && !slices.ContainsFunc(s.families, func(f family) bool { return f.name == n }) {
			s.families = append(s.families, family{name: n})
		}
	}
	return s, nil
}

// selectorMatchers returns the label matchers of a selector given as
// `{job="orders"}` or `job="orders"`. It checks only the braces: the
// matchers themselves are Prometheus's to judge, so that a mistake is
// reported in Prometheus's own words.
func selectorMatchers(sel string) (string, error) {
	sel = strings.TrimSpace(sel)
	if strings.HasPrefix(sel, "{") || strings.HasSuffix(sel, "}") {
		inner, ok := strings.CutPrefix(sel, "{")
		if inner, ok = strings.CutSuffix(inner, "}"); !ok {
			return "", fmt.Errorf("--selector %q: unbalanced braces (want {label=\"value\", …})", sel)
		}
		sel = inner
	}
	return strings.TrimSpace(sel), nil
}

// Name returns the Prometheus target's name (its URL without credentials).
func (s *PromSource) Name() string { return s.name }

// Interval returns the refresh interval.
func (s *PromSource) Interval() time.Duration { return s.cfg.Interval }

// ScrapeInterval returns the longest scrape interval Prometheus's targets
// API gives for the groups seen so far, or 0 where the API does not say
// (Thanos, Mimir, or any failure).
func (s *PromSource) ScrapeInterval(ctx context.Context) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	longest := time.Duration(0)
	for g, t := range s.targets(ctx) {
		if _, ok := s.seen[g]; ok {
			longest = max(longest, t.interval)
		}
	}
	return longest
}

// TargetLabels returns the target labels of a group (job, instance and
// whatever relabelling added), for the admin URL template; nil when unknown.
func (s *PromSource) TargetLabels(group string) map[string]string {
	s.labelsMu.RLock()
	defer s.labelsMu.RUnlock()
	return s.labels[group]
}

// Check asks Prometheus once for `up` with the selector: an error here is a
// selector Prometheus rejects (its own parse message), which no retry fixes.
// An unreachable Prometheus is not an error of Check: the screen shows it
// and keeps trying.
func (s *PromSource) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	_, _, err := s.query(ctx, "/api/v1/query", url.Values{"query": {selector("up", s.matchers)}}, func(*series) error { return nil })
	var ae *APIError
	if errors.As(err, &ae) && ae.Type == "bad_data" {
		return fmt.Errorf("--selector %s: Prometheus says: %s", s.cfg.Selector, ae.Msg)
	}
	return nil
}

// Run refreshes every interval until ctx is done and hands each refresh's
// results to emit, in one batch; emit is never called concurrently or
// after Run returns.
func (s *PromSource) Run(ctx context.Context, emit func(model.Scrape)) {
	tick := time.NewTicker(s.cfg.Interval)
	defer tick.Stop()
	for {
		s.busy.Store(true)
		res := s.ScrapeAll(ctx)
		s.busy.Store(false)
		if ctx.Err() != nil {
			return
		}
		for _, r := range res {
			emit(r)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-s.now:
			tick.Reset(s.cfg.Interval)
		}
	}
}

// ScrapeNow asks for an immediate refresh; it never blocks, and a request
// while a refresh runs counts that one.
func (s *PromSource) ScrapeNow() {
	if s.busy.Load() {
		return
	}
	select {
	case s.now <- struct{}{}:
	default:
	}
}

// ScrapeAll refreshes once: the Prometheus target's result first, then one
// per group, each group's stamped with the time of Prometheus's last scrape
// of it (so rates are exact over Prometheus's own samples and a refresh
// that finds no new scrape changes nothing).
func (s *PromSource) ScrapeAll(ctx context.Context) []model.Scrape {
	s.mu.Lock()
	defer s.mu.Unlock()
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	r := s.refresh(ctx, start)
	self := model.Scrape{Target: s.name, Source: true, Time: start, Duration: time.Since(start), Bytes: r.bytes,
		Warnings: append(slices.Clone(s.notes), r.warnings...)}
	if r.err != nil {
		self.Err = s.describe(r.err)
		return append([]model.Scrape{self}, s.lost(start, "no answer from Prometheus: "+self.Err.Error())...)
	}
	self.Page = model.NewPage(nil)
	if len(r.up) == 0 && len(r.pages.groups) == 0 {
		self.Page, self.Err = nil, s.nothing()
		return append([]model.Scrape{self}, s.lost(start, "absent from Prometheus's answer")...)
	}
	out := []model.Scrape{self}
	groups := make([]string, 0, len(r.pages.groups)+len(r.up))
	for g := range r.pages.groups {
		groups = append(groups, g)
	}
	for g := range r.up {
		if _, ok := r.pages.groups[g]; !ok {
			groups = append(groups, g)
		}
	}
	slices.Sort(groups)
	var down map[string]target
	for _, g := range groups {
		sc := model.Scrape{Target: g, Time: start, Warnings: r.warnings}
		up, ok := r.up[g]
		if ok && !up.at.IsZero() {
			sc.Time, sc.Duration = up.at, up.took
		}
		// Several targets in one group would mix their series into one page
		// whose rates and states are no replica's: say so instead.
		switch {
		case up.targets > 1:
			sc.Err = s.mixed(g, up.targets)
		case up.known && up.value == 0:
			if down == nil {
				down = s.targets(ctx)
			}
			msg := "down in Prometheus (up == 0)"
			if t := down[g]; t.down && t.lastError != "" {
				msg = "down in Prometheus: " + withoutRequest(t.lastError)
			}
			sc.Err = errors.New(msg)
		default:
			sc.Page = r.pages.page(g)
		}
		s.seen[g] = seenGroup{refresh: start, sample: sc.Time}
		out = append(out, sc)
	}
	out = append(out, s.lost(start, "absent from Prometheus's answer")...)
	return out
}

// seenGroup is when a group was last in an answer.
type seenGroup struct {
	refresh time.Time // the refresh that had it, on resiltop's clock
	sample  time.Time // the time its scrape carried (Prometheus's)
}

// lost reports the groups of earlier answers that are not in this one as
// failed with msg: their last values stay on screen, marked stale, never
// read as zero. The failure is stamped just after the group's last sample,
// so that the next sample Prometheus has of it is taken at once (a stamp
// on resiltop's clock would hide samples older than it). A group gone for
// longer than a day is forgotten.
func (s *PromSource) lost(now time.Time, msg string) []model.Scrape {
	var out []model.Scrape
	for g, seen := range s.seen {
		switch {
		case seen.refresh.Equal(now):
		case now.Sub(seen.refresh) > 24*time.Hour:
			delete(s.seen, g)
		default:
			out = append(out, model.Scrape{Target: g, Time: seen.sample.Add(time.Millisecond), Err: errors.New(msg)})
		}
	}
	slices.SortFunc(out, func(a, b model.Scrape) int { return strings.Compare(a.Target, b.Target) })
	return out
}

// nothing explains an answer without a single series.
func (s *PromSource) nothing() error {
	if s.matchers == "" {
		return errors.New("Prometheus has no `up` series and none of the families resiltop reads")
	}
	return fmt.Errorf("no series match --selector {%s}: Prometheus has no `up` series and none of the families resiltop reads for it", s.matchers)
}

// describe words a refresh error for the Prometheus row.
func (s *PromSource) describe(err error) error {
	var ae *APIError
	if errors.As(err, &ae) {
		if ae.Type == "bad_data" && s.matchers != "" {
			return fmt.Errorf("Prometheus rejected the query (check --selector): %s", ae.Error())
		}
		hint := ""
		if ae.Status == http.StatusNotFound { // the UI's URL, or a proxy's prefix left off
			hint = " (is --prometheus the server's base URL, without /graph? resiltop appends /api/v1/…)"
		}
		if ae.Status/100 != 2 {
			return fmt.Errorf("Prometheus answered HTTP %d %s: %s%s", ae.Status, http.StatusText(ae.Status), ae.Error(), hint)
		}
		return fmt.Errorf("Prometheus: %s", ae.Error())
	}
	return classify(err, s.cfg.Timeout)
}

// groupOf is the group (target row) a series belongs to: its --group-by
// label's value, as prompage names it.
func (s *PromSource) groupOf(sr *series) string {
	if g := sr.get(s.cfg.GroupBy); g != "" {
		return g
	}
	return ungrouped(s.cfg.GroupBy)
}

// mixed is the error of a group that n targets' series fall into: one
// page of them would be no replica's rates and states.
func (s *PromSource) mixed(g string, n int) error {
	if g == ungrouped(s.cfg.GroupBy) {
		return fmt.Errorf("%d targets without a %s label, so their series would mix: --group-by needs a label every target has, such as instance",
			n, s.cfg.GroupBy)
	}
	return fmt.Errorf("%d targets share %s=%q, so their series would mix: --group-by needs a label unique to each target, such as instance",
		n, s.cfg.GroupBy, g)
}

// upState is one group's `up` sample.
type upState struct {
	known   bool // the `up` query had the group
	targets int  // how many targets' `up` carry the group's value
	value   float64
	at      time.Time     // the sample's timestamp: when Prometheus last scraped the group
	took    time.Duration // Prometheus's scrape_duration_seconds of that scrape
}

// refreshResult is what one refresh found.
type refreshResult struct {
	up       map[string]upState
	pages    pageSet
	warnings []string
	bytes    int64
	err      error
}

// refresh asks for `up` (value and timestamp), the metadata when due, then
// every family, all evaluated at the same instant.
func (s *PromSource) refresh(ctx context.Context, at time.Time) (r refreshResult) {
	a := &asker{s: s, path: "/api/v1/query", params: url.Values{"time": {formatTime(at)}},
		tooMany: fmt.Sprintf("Prometheus's answer has more than %d series (narrow --selector or raise --max-series)", s.cfg.MaxSeries)}
	defer func() { r.bytes, r.warnings = a.bytes.Load(), a.warn.list() }()

	// Phase 1: `up`, which names the groups and (by its labels) the target
	// labels to strip; when Prometheus last scraped each group and how
	// long that took; the families' types.
	up := map[string]upState{}
	strip := map[string]bool{"job": true, "instance": true}
	labels := map[string]map[string]string{}
	var mu sync.Mutex
	perGroup := func(set func(*upState, *series)) func(*series) error {
		return func(sr *series) error {
			g := s.groupOf(sr)
			if len(sr.points) == 0 {
				return nil
			}
			mu.Lock()
			defer mu.Unlock()
			u := up[g]
			set(&u, sr)
			up[g] = u
			return nil
		}
	}
	upSel := selector("up", s.matchers)
	jobs := []func() error{
		func() error {
			return a.ask(ctx, upSel, perGroup(func(u *upState, sr *series) {
				u.known, u.value = true, sr.points[0].v
				u.targets++
				tl := make(map[string]string, len(sr.labels))
				for _, l := range sr.labels {
					if l.name != nameLabel {
						tl[l.name] = l.value
						strip[l.name] = true
					}
				}
				labels[s.groupOf(sr)] = tl
			}))
		},
		func() error {
			return a.ask(ctx, "timestamp("+upSel+")", perGroup(func(u *upState, sr *series) { u.at = unixTime(sr.points[0].v) }))
		},
		func() error {
			return a.ask(ctx, selector("scrape_duration_seconds", s.matchers), perGroup(func(u *upState, sr *series) {
				u.took = time.Duration(sr.points[0].v * float64(time.Second))
			}))
		},
	}
	if s.types == nil || at.Sub(s.metaAt) >= metadataEvery {
		jobs = append(jobs, func() error {
			s.loadMetadata(ctx, at)
			return nil
		})
	}
	if r.err = runAll(ctx, jobs); r.err != nil {
		return r
	}
	s.labelsMu.Lock()
	maps.Copy(s.labels, labels)
	s.labelsMu.Unlock()

	// Phase 2: one query per family, each streamed into per-group builds.
	lf := &labelFilter{groupBy: s.cfg.GroupBy, strip: strip}
	fams := s.typedFamilies()
	builds := make([]map[string]*famBuild, len(fams))
	jobs = jobs[:0]
	for i := range fams {
		builds[i] = map[string]*famBuild{}
		jobs = append(jobs, func() error { return a.ask(ctx, fams[i].query(s.matchers), lf.collect(&fams[i], builds[i])) })
	}
	if r.err = runAll(ctx, jobs); r.err != nil {
		return r
	}
	for i := range fams {
		r.pages.collect(&fams[i], builds[i])
	}
	r.up = up
	return r
}

// asker runs the queries of one refresh or backfill: all at one instant
// (or over one range), their series counted together against --max-series,
// their sizes and warnings gathered.
type asker struct {
	s       *PromSource
	path    string     // /api/v1/query or /api/v1/query_range
	params  url.Values // time, or start, end and step
	tooMany string     // the error when the series pass --max-series
	count   atomic.Int64
	bytes   atomic.Int64
	warn    warnings
}

// ask runs q and streams its series to each.
func (a *asker) ask(ctx context.Context, q string, each func(*series) error) error {
	args := url.Values{"query": {q}}
	for k, v := range a.params {
		args[k] = v
	}
	env, n, err := a.s.query(ctx, a.path, args, func(sr *series) error {
		if a.count.Add(1) > int64(a.s.cfg.MaxSeries) {
			return &Error{Kind: KindTooManySeries, Msg: a.tooMany}
		}
		return each(sr)
	})
	a.bytes.Add(n)
	a.warn.add(env)
	return err
}

// typedFamilies returns the families with the types the metadata gave.
// A family the metadata does not name is still asked for, typed by its
// series: recording rules and some remote-write setups carry no metadata.
func (s *PromSource) typedFamilies() []family {
	out := make([]family, len(s.families))
	for i, f := range s.families {
		if t, ok := s.types[f.name]; ok {
			f = t
		}
		out[i] = f
	}
	return out
}

// loadMetadata asks for the types of every family (one call for all: the
// per-metric form would be one call per family). A Prometheus without the
// metadata API (or an empty one, as behind some proxies) leaves the types
// unknown, and they are derived from the series instead.
func (s *PromSource) loadMetadata(ctx context.Context, at time.Time) {
	s.metaAt = at
	md, err := s.api.Metadata(ctx, "", "")
	types := map[string]family{}
	if err == nil {
		for _, f := range s.families {
			entries := md[f.name]
			if base, ok := strings.CutSuffix(f.name, "_total"); ok && len(entries) == 0 {
				// Scraped as OpenMetrics, a counter's metadata is named
				// without the _total its samples carry.
				entries = slices.DeleteFunc(slices.Clone(md[base]), func(m v1.Metadata) bool { return m.Type != v1.MetricTypeCounter })
			}
			for _, m := range entries {
				if t, ok := metadataType(string(m.Type)); ok {
					types[f.name] = family{name: f.name, typ: t, known: true}
					break
				}
			}
		}
	}
	if len(types) == 0 && s.types != nil && err != nil {
		return // keep what an earlier call found
	}
	s.types = types
}

// target is what Prometheus's targets API says about one group's target.
type target struct {
	down      bool
	lastError string
	interval  time.Duration // its scrape interval; 0 when not given
}

// targets reads /api/v1/targets (active targets only: the dropped ones can
// be thousands) by group, where Prometheus offers it (Thanos and Mimir do
// not). Empty on any failure: what it adds is explanation, not data.
func (s *PromSource) targets(ctx context.Context) map[string]target {
	u := s.client.URL("/api/v1/targets", nil)
	u.RawQuery = url.Values{"state": {"active"}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil
	}
	resp, body, err := s.client.Do(ctx, req)
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil
	}
	var ans struct {
		Data struct {
			ActiveTargets []struct {
				Labels         map[string]string `json:"labels"`
				LastError      string            `json:"lastError"`
				Health         string            `json:"health"`
				ScrapeInterval string            `json:"scrapeInterval"`
			} `json:"activeTargets"`
		} `json:"data"`
	}
	if json.Unmarshal(body, &ans) != nil {
		return nil
	}
	out := map[string]target{}
	for _, t := range ans.Data.ActiveTargets {
		g := t.Labels[s.cfg.GroupBy]
		if g == "" {
			continue
		}
		interval, _ := pmodel.ParseDuration(t.ScrapeInterval)
		out[g] = target{down: t.Health == "down", lastError: t.LastError, interval: time.Duration(interval)}
	}
	return out
}

// withoutRequest drops the `Get "http://…/metrics": ` that Go's HTTP client
// puts before a scrape error: the row names the instance already.
func withoutRequest(msg string) string {
	if strings.HasPrefix(msg, `Get "`) {
		if _, rest, ok := strings.Cut(msg, `": `); ok {
			return rest
		}
	}
	return msg
}

// query runs one API call and streams its series to each. It returns the
// envelope (warnings), the body's size and the error: transport, HTTP
// status with Prometheus's JSON error, parse, or each's.
func (s *PromSource) query(ctx context.Context, path string, args url.Values, each func(*series) error) (envelope, int64, error) {
	u := s.client.URL(path, nil)
	u.RawQuery = args.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return envelope{}, 0, err
	}
	resp, body, err := s.client.Do(ctx, req)
	if err != nil {
		return envelope{}, int64(len(body)), err
	}
	n := int64(len(body))
	env, derr := decodeAnswer(body, each)
	if resp.StatusCode/100 != 2 || env.status == "error" {
		ae := &APIError{Status: resp.StatusCode, Type: env.errorType, Msg: env.errMsg}
		if derr != nil && ae.Msg == "" {
			ae.Msg = truncate(strings.TrimSpace(string(body)), 200) // a proxy's page, not Prometheus's JSON
		}
		return env, n, ae
	}
	return env, n, derr
}

// runAll runs jobs, at most queryParallel at once, and returns the first
// error; the others are still waited for.
func runAll(ctx context.Context, jobs []func() error) error {
	sem := make(chan struct{}, queryParallel)
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for i, job := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if ctx.Err() != nil {
				errs[i] = ctx.Err()
				return
			}
			errs[i] = job()
		}()
	}
	wg.Wait()
	for _, err := range errs {
		var se *Error
		if errors.As(err, &se) && se.Kind == KindTooManySeries {
			return err // the clearest of several failures
		}
	}
	return errors.Join(slices.DeleteFunc(errs, func(e error) bool { return e == nil })...)
}

// warnings gathers the warnings of a refresh's answers, each once.
type warnings struct {
	mu  sync.Mutex
	all []string
}

func (w *warnings) add(env envelope) {
	w.mu.Lock()
	defer w.mu.Unlock()
	msgs := env.warnings
	if env.partial {
		msgs = append(msgs, "partial response: some of the data is missing")
	}
	for _, m := range msgs {
		if !slices.Contains(w.all, m) && len(w.all) < maxWarnings {
			w.all = append(w.all, m)
		}
	}
}

func (w *warnings) list() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.all
}

// formatTime writes t as Prometheus's API reads it: unix seconds.
func formatTime(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixNano())/1e9, 'f', 3, 64)
}

// unixTime converts unix seconds to a time.
func unixTime(sec float64) time.Time {
	if math.IsNaN(sec) || math.IsInf(sec, 0) {
		return time.Time{}
	}
	return time.UnixMilli(int64(math.Round(sec * 1000)))
}

// limitedTransport asks for gzip and limits every body, after
// decompression, to limit bytes; beyond it the read fails with a
// KindTooLarge error.
type limitedTransport struct {
	base  http.RoundTripper
	limit int64
}

// RoundTrip implements http.RoundTripper.
func (t *limitedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body := resp.Body
	var r io.Reader = body
	if strings.EqualFold(resp.Header.Get("Content-Encoding"), "gzip") {
		gz, err := gzip.NewReader(body)
		if err != nil {
			body.Close()
			return nil, gzipError(err)
		}
		r = gz
		resp.Header.Del("Content-Encoding")
		resp.ContentLength = -1
	}
	resp.Body = &limitedBody{r: r, closer: body, limit: t.limit}
	return resp, nil
}

// limitedBody fails a read that goes past limit bytes.
type limitedBody struct {
	r           io.Reader
	closer      io.Closer
	read, limit int64
}

// Read implements io.Reader.
func (b *limitedBody) Read(p []byte) (int, error) {
	if room := b.limit + 1 - b.read; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := b.r.Read(p)
	b.read += int64(n)
	if b.read > b.limit {
		return 0, &Error{Kind: KindTooLarge, Msg: "Prometheus's answer is larger than " + formatBytes(b.limit) + " (narrow --selector or raise --body-limit)"}
	}
	if err != nil && !errors.Is(err, io.EOF) {
		err = gzipError(err)
	}
	return n, err
}

// Close closes the response body.
func (b *limitedBody) Close() error { return b.closer.Close() }
