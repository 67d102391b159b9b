package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	tea "charm.land/bubbletea/v2"

	"resiltop/internal/admin"
	"resiltop/internal/model"
	"resiltop/internal/pgsim"
	"resiltop/internal/profile"
	"resiltop/internal/scrape"
	"resiltop/internal/ui"
)

// adminDep is the breaker the admin soak switches.
const adminDep = "pg"

// adminFault is what the fault-injecting proxy does to one admin request.
type adminFault int

const (
	passThrough adminFault = iota // forwarded, answer returned
	failBefore                    // 503 without forwarding: nothing applied
	failAfter                     // forwarded, then 502 instead of the answer: applied, reported failed
	hangBefore                    // no answer until the client gives up, never forwarded
	hangAfter                     // forwarded, then no answer until the client gives up
	resetAfter                    // forwarded, then the connection is cut
	numAdminFaults
)

var adminFaultNames = [numAdminFaults]string{
	passThrough: "pass-through", failBefore: "5xx before forwarding", failAfter: "5xx after forwarding",
	hangBefore: "timeout before forwarding", hangAfter: "timeout after forwarding", resetAfter: "reset after forwarding",
}

// faultProxy stands in front of pgsim's admin endpoint as a misbehaving
// gateway would. Each request meets a fault drawn from rng: 40% of them
// are faults of some kind.
type faultProxy struct {
	upstream string // pgsim's origin
	client   *http.Client
	active   atomic.Int64 // requests being handled

	mu     sync.Mutex
	rng    *rand.Rand
	counts [numAdminFaults]int
}

func (p *faultProxy) pick() adminFault {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := passThrough
	if p.rng.Float64() < 0.4 {
		f = adminFault(1 + p.rng.IntN(int(numAdminFaults)-1))
	}
	p.counts[f]++
	return f
}

func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.active.Add(1)
	defer p.active.Add(-1)
	// The whole body first: only then does net/http watch the connection
	// and cancel the request's context when the client gives up.
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	f := p.pick()
	hang := func() {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}
	switch f {
	case hangBefore:
		hang()
		return
	case failBefore:
		http.Error(w, `{"error":"Service Unavailable","message":"no healthy upstream"}`, http.StatusServiceUnavailable)
		return
	}
	status, answer, err := p.forward(r, body)
	if err != nil {
		http.Error(w, "proxy: "+err.Error(), http.StatusBadGateway)
		return
	}
	switch f {
	case failAfter:
		http.Error(w, `{"error":"Bad Gateway","message":"upstream reset before headers"}`, http.StatusBadGateway)
	case hangAfter:
		hang()
	case resetAfter:
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			_ = conn.Close()
		}
	default:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(answer)
	}
}

// forward sends the request to pgsim on its own context: once forwarded,
// it lands whatever the client does, as through a real gateway.
func (p *faultProxy) forward(r *http.Request, body []byte) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, r.Method, p.upstream+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	for _, h := range []string{"Authorization", "Content-Type", "Accept"} {
		req.Header.Set(h, r.Header.Get(h))
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, answer, err
}

// idle waits until no request is being handled, so nothing forwarded late
// can change the breaker after a cycle is judged.
func (p *faultProxy) idle() {
	for p.active.Load() > 0 {
		time.Sleep(5 * time.Millisecond)
	}
}

// timeoutSwitch bounds each admin call by a random client timeout, shorter
// than the UI's own, so timeouts happen at every stage of a call, and
// counts the calls that returned.
type timeoutSwitch struct {
	sw      admin.Switch
	timeout time.Duration
	done    *atomic.Int64
}

func (t timeoutSwitch) Set(ctx context.Context, name string, a admin.Action) (string, error) {
	defer t.done.Add(1)
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	return t.sw.Set(ctx, name, a)
}

// clock is the UI's clock, moved by the soak: confirmations wait for
// scrapes stamped after the action, and give up after ten seconds of it.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// The endings of a cycle, as the UI's row note says them.
const (
	endConfirmed    = "confirmed"
	endNotConfirmed = "not confirmed"
	endNotApplied   = "not applied"
	endCancelled    = "cancelled"
)

// adminResult counts the admin soak's cycles.
type adminResult struct {
	cycles     int
	endings    map[string]int
	unknown    int // cycles that passed through "outcome unknown — verifying"
	applied    int // cycles that moved pgsim's breaker to the expected state
	missed     int // of those, cycles that ended "not confirmed"
	violations []string
}

// adminSoak runs cfg.cycles force-open/close cycles against pgsim through
// internal/admin and the UI's confirmation, behind the fault proxy, and
// checks each ending against pgsim's real breaker state.
func adminSoak(cfg config, stdout, stderr io.Writer) int {
	fmt.Fprintf(stdout, "admin soak: seed %d, %d cycles of force-open/close on %q through a fault-injecting proxy\n", cfg.seed, cfg.cycles, adminDep)
	start := time.Now()
	res, counts, err := runAdminSoak(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "soak: %v\nsoak: reproduce with: %s\n", err, reproduce(cfg))
		return 1
	}
	fmt.Fprintf(stdout, "cycles %d in %s: ", res.cycles, time.Since(start).Round(time.Second))
	for _, e := range []string{endConfirmed, endNotConfirmed, endNotApplied, endCancelled} {
		fmt.Fprintf(stdout, "%s %d, ", e, res.endings[e])
	}
	fmt.Fprintf(stdout, "passed through outcome unknown %d; moved pgsim's breaker %d (of which not confirmed %d)\n", res.unknown, res.applied, res.missed)
	fmt.Fprint(stdout, "admin requests by fault:")
	for f := range numAdminFaults {
		fmt.Fprintf(stdout, " %s %d;", adminFaultNames[f], counts[f])
	}
	fmt.Fprintln(stdout)
	if len(res.violations) > 0 {
		fmt.Fprintf(stdout, "violations (%d, first 20):\n", len(res.violations))
		for _, v := range res.violations[:min(20, len(res.violations))] {
			fmt.Fprintln(stdout, "  "+v)
		}
		fmt.Fprintf(stdout, "FAIL: %d wrong endings (seed %d); reproduce with: %s\n", len(res.violations), cfg.seed, reproduce(cfg))
		return 1
	}
	fmt.Fprintf(stdout, "PASS (seed %d): no wrong \"confirmed\", no wrong \"not applied\"\n", cfg.seed)
	return 0
}

func runAdminSoak(cfg config) (*adminResult, [numAdminFaults]int, error) {
	var counts [numAdminFaults]int
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sim, err := pgsim.Start(ctx, pgsim.Config{Seed: int64(cfg.seed)})
	if err != nil {
		return nil, counts, err
	}
	defer sim.Close()
	u, err := url.Parse(sim.AdminURL)
	if err != nil {
		return nil, counts, err
	}
	rng := rand.New(rand.NewPCG(cfg.seed, cfg.seed^0x5851f42d4c957f2d))
	tr := &http.Transport{Proxy: nil}
	defer tr.CloseIdleConnections()
	proxy := &faultProxy{upstream: u.Scheme + "://" + u.Host, client: &http.Client{Transport: tr}, rng: rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64()))}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, counts, err
	}
	srv := &http.Server{Handler: proxy, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	proxied := "http://" + ln.Addr().String() + u.Path
	direct := admin.NewActuator(sim.AdminURL, sim.Token(), &http.Client{Transport: tr, Timeout: 5 * time.Second})

	opts := model.StoreOptions{Profiles: profile.Builtin()}
	scraper, err := scrape.NewScraper(scrape.Target{URL: sim.MetricsURL, Profiles: opts.Candidates(sim.MetricsURL)})
	if err != nil {
		return nil, counts, err
	}
	store := model.NewStore(opts)
	s := &session{rng: rng, direct: direct, proxy: proxy, clk: &clock{now: time.Now()},
		snapshots: new(atomic.Int64), calls: new(atomic.Int64), maxTimeout: 300 * time.Millisecond}
	s.scrape = func() {
		sc := scraper.Scrape(ctx)
		sc.Time = s.clk.Now() // the UI's clock, which the soak moves
		store.Ingest(sc)
		sc.Page.Release()
	}
	var timeout atomic.Int64 // this cycle's client timeout
	s.h = newHeadless(ui.New(ui.Options{
		Snapshot: func(now time.Time, w time.Duration) *model.Snapshot {
			defer s.snapshots.Add(1)
			if cfg.corrupt != nil {
				return cfg.corrupt(store.Snapshot(now, w))
			}
			return store.Snapshot(now, w)
		},
		Interval: 20 * time.Millisecond, Window: time.Minute, NoColor: true, Now: s.clk.Now,
		Switch: func(string) (admin.Switch, error) {
			var sw admin.Switch = admin.NewActuator(proxied, sim.Token(), nil)
			if cfg.wrapSwitch != nil {
				sw = cfg.wrapSwitch(sw)
			}
			return timeoutSwitch{sw: sw, timeout: time.Duration(timeout.Load()), done: s.calls}, nil
		},
	}))
	defer s.h.stop()
	if err := s.h.start(200, 30); err != nil {
		return nil, counts, err
	}
	for range 2 {
		s.clk.advance(time.Second)
		if err := s.refresh(); err != nil {
			return nil, counts, err
		}
	}
	// Keep the one row in view and under the cursor.
	for _, k := range append(append([]string{"/"}, strings.Split("^"+adminDep+"$", "")...), "enter") {
		if err := press(s.h, k); err != nil {
			return nil, counts, err
		}
	}
	res := &adminResult{endings: map[string]int{}}
	for i := range cfg.cycles {
		timeout.Store(int64(20*time.Millisecond + time.Duration(rng.Int64N(int64(s.maxTimeout-20*time.Millisecond)))))
		if err := s.cycle(i, res); err != nil {
			return res, counts, err
		}
	}
	proxy.mu.Lock()
	counts = proxy.counts
	proxy.mu.Unlock()
	return res, counts, nil
}

// session is the admin soak's UI and the parts around it.
type session struct {
	h          *headless
	rng        *rand.Rand
	direct     *admin.Actuator // pgsim's admin, past the proxy
	proxy      *faultProxy
	clk        *clock
	scrape     func()
	snapshots  *atomic.Int64 // snapshots the UI took
	calls      *atomic.Int64 // admin calls returned
	maxTimeout time.Duration
}

// refresh scrapes pgsim, then lets the UI take and apply a snapshot.
func (s *session) refresh() error {
	s.proxy.idle() // nothing forwarded late changes the breaker after this scrape
	s.scrape()
	n := s.snapshots.Load()
	return s.pumpUntil(func() bool { return s.snapshots.Load() > n }, 2*time.Second)
}

// pumpUntil applies the UI's messages until cond holds (then a little
// longer, for the message that follows) or d passed.
func (s *session) pumpUntil(cond func() bool, d time.Duration) error {
	deadline := time.Now().Add(d)
	for !cond() && time.Now().Before(deadline) {
		if err := pump(s.h, 5*time.Millisecond); err != nil {
			return err
		}
	}
	return pump(s.h, 10*time.Millisecond)
}

// cycle runs one action from key press to ending and judges the ending
// against pgsim's breaker state read directly.
func (s *session) cycle(i int, res *adminResult) error {
	before, err := realState(s.direct)
	if err != nil {
		return err
	}
	// Mostly the action that changes the state; now and then a redundant one.
	action, key := admin.ForceOpen, "o"
	if (before == "FORCED_OPEN") != (s.rng.IntN(10) == 0) {
		action, key = admin.Close, "c"
	}
	want := map[admin.Action]string{admin.ForceOpen: "FORCED_OPEN", admin.Close: "CLOSED"}[action]
	// The user acts after the last scrape; on a clock the soak moves, the
	// two would otherwise share an instant, and a scrape stamped with the
	// action's own time would count as taken after it.
	s.clk.advance(100 * time.Millisecond)
	if err := press(s.h, key); err != nil {
		return err
	}
	screen, err := s.h.view()
	if err != nil {
		return err
	}
	if !strings.Contains(screen, "«"+adminDep+"»") || !strings.Contains(screen, "y = yes") {
		return fmt.Errorf("cycle %d: no confirmation dialog after %q:\n%s", i, key, screen)
	}
	answer := "y"
	if s.rng.IntN(20) == 0 {
		answer = "n"
	}
	calls := s.calls.Load()
	if err := press(s.h, answer); err != nil {
		return err
	}
	res.cycles++
	if answer == "y" {
		if err := s.pumpUntil(func() bool { return s.calls.Load() > calls }, s.maxTimeout+5*time.Second); err != nil {
			return err
		}
	}
	ending, sawUnknown := "", false
	// A scrape a second later on the UI's clock shows the state (nothing
	// forwarded late can change it: the proxy is idle); if that did not
	// confirm, the clock jumps past the UI's ten-second deadline.
	for step := 0; ending == "" && step < 8; step++ {
		screen, err := s.h.view()
		if err != nil {
			return err
		}
		note := rowNote(screen, adminDep)
		sawUnknown = sawUnknown || strings.Contains(note, "outcome unknown")
		switch {
		case answer == "n":
			if strings.Contains(screen, "cancelled") {
				ending = endCancelled
			}
		case strings.Contains(note, "(not confirmed)"):
			ending = endNotConfirmed
		case strings.Contains(note, "(confirmed)"):
			ending = endConfirmed
		case strings.Contains(note, "not applied"):
			ending = endNotApplied
		}
		if ending != "" {
			break
		}
		by := time.Second
		if step > 0 {
			by = 10 * time.Second
		}
		s.clk.advance(by)
		if err := s.refresh(); err != nil {
			return err
		}
	}
	if ending == "" {
		screen, _ := s.h.view()
		return fmt.Errorf("cycle %d: no ending; the row reads %q", i, rowNote(screen, adminDep))
	}
	s.proxy.idle()
	after, err := realState(s.direct)
	if err != nil {
		return err
	}
	res.endings[ending]++
	if sawUnknown {
		res.unknown++
	}
	if after == want && before != want {
		res.applied++
	}
	if ending == endNotConfirmed && after == want && before != want {
		res.missed++
	}
	wrong := ""
	switch {
	case ending == endConfirmed && after != want:
		wrong = "confirmed, but pgsim's breaker is " + after
	case (ending == endNotApplied || ending == endCancelled) && after != before:
		wrong = fmt.Sprintf("%s, but pgsim's breaker went from %s to %s", ending, before, after)
	}
	if wrong != "" {
		res.violations = append(res.violations, fmt.Sprintf("cycle %d (%s): %s", i, action, wrong))
	}
	return nil
}

// realState reads pgsim's breaker directly, past the proxy.
func realState(direct *admin.Actuator) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	states, err := direct.List(ctx)
	if err != nil {
		return "", fmt.Errorf("reading pgsim's breakers: %w", err)
	}
	s, ok := states[adminDep]
	if !ok {
		return "", errors.New("pgsim lists no breaker " + adminDep)
	}
	return s, nil
}

// rowNote is the dependency's row on screen ("" when not shown).
func rowNote(screen, dep string) string {
	for l := range strings.SplitSeq(screen, "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == dep {
			return l
		}
	}
	return ""
}

// press types one key and lets its commands run.
func press(h *headless, k string) error {
	var msg tea.KeyPressMsg
	switch k {
	case "enter":
		msg = tea.KeyPressMsg{Code: tea.KeyEnter}
	default:
		r := []rune(k)[0]
		msg = tea.KeyPressMsg{Code: r, Text: k}
	}
	if err := h.update(msg); err != nil {
		return err
	}
	return pump(h, 10*time.Millisecond)
}

// pump applies the UI's messages for d.
func pump(h *headless, d time.Duration) error {
	end := time.After(d)
	for {
		select {
		case <-end:
			return nil
		case msg := <-h.msgs:
			if err := h.update(msg); err != nil {
				return err
			}
		}
	}
}
