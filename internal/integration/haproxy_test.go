package integration

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"text/template"
	"time"

	"resiltop/internal/admin"
	"resiltop/internal/model"
	"resiltop/internal/pgsim"
	"resiltop/internal/profile"
	"resiltop/internal/scrape"
	"resiltop/internal/scrape/scrapetest"
)

// haproxyConfig puts HAProxy in front of pgsim's mail endpoint the way an
// egress proxy is run: one backend with retries, a server timeout shorter
// than pgsim's slow latency, maxconn 2 so a slow dependency builds a queue,
// HTTP health checks that fail on pgsim's outage (503 or reset) but accept
// its occasional steady 500, the native exporter and an admin runtime API.
var haproxyConfig = template.Must(template.New("cfg").Parse(`global
    stats socket ipv4@127.0.0.1:{{.Admin}} level admin
defaults
    mode http
    timeout connect 1s
    timeout client 20s
    timeout server 1500ms
    timeout queue 15s
    timeout check 8s
    retries 2
frontend egress
    bind 127.0.0.1:{{.Front}}
    default_backend mail
frontend prometheus
    bind 127.0.0.1:{{.Metrics}}
    http-request use-service prometheus-exporter if { path /metrics }
backend mail
    option http-buffer-request
    retry-on conn-failure empty-response 503
    option httpchk
    http-check send meth POST uri /api/v1/mail hdr Content-Type application/json body '{"orderId":"healthcheck"}'
    http-check expect rstatus ^(200|500)$
    server m1 {{.Gateway}} check inter 300ms fall 2 rise 1 maxconn 2
`))

// haproxyFreePorts picks n free loopback ports. HAProxy cannot report a port
// it bound to :0, so the ports are found by listening and closing; the small
// race with other processes is acceptable on a test machine.
func haproxyFreePorts(t *testing.T, n int) []int {
	t.Helper()
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	ports := make([]int, n)
	for i := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports[i] = ln.Addr().(*net.TCPAddr).Port
	}
	return ports
}

// haproxyWatch scrapes the exporter into a Store, as resiltop does, and
// returns the engine's view of the mail backend.
type haproxyWatch struct {
	t       *testing.T
	scraper *scrape.Scraper
	store   *model.Store
	last    *model.Page
	log     *scrapetest.LockedBuffer
}

func (w *haproxyWatch) observe(ctx context.Context) (model.Dependency, bool) {
	sc := w.scraper.Scrape(ctx)
	w.store.Ingest(sc)
	if sc.Err != nil {
		w.t.Logf("scrape: %v", sc.Err)
		return model.Dependency{}, false
	}
	w.last = sc.Page
	snap := w.store.Snapshot(time.Now(), time.Minute)
	for _, d := range snap.Dependencies {
		if d.Name == "mail" {
			return d, true
		}
	}
	return model.Dependency{}, false
}

// until scrapes every 250 ms until cond holds or the phase's time is up.
func (w *haproxyWatch) until(ctx context.Context, what string, limit time.Duration, cond func(model.Dependency) bool) model.Dependency {
	w.t.Helper()
	deadline := time.Now().Add(limit)
	var d model.Dependency
	for {
		var ok bool
		d, ok = w.observe(ctx)
		if ok && cond(d) {
			return d
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			w.t.Fatalf("%s: not seen within %v; last reading: breaker %s, calls/s %v, errors %v, pool %+v\nHAProxy output:\n%s",
				what, limit, d.Breaker.State, d.CallsPerSecond, d.ErrorRatio, d.Pool, w.log)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// retries reads the backend's raw retry counter from the last page.
func (w *haproxyWatch) retries() float64 {
	for _, o := range profile.Builtin() {
		if o.Name() != profile.HAProxy {
			continue
		}
		for _, ob := range o.Read(w.last) {
			if ob.Dependency == "mail" {
				return ob.Retries
			}
		}
	}
	return 0
}

// capture writes the last page to $RESILTOP_CAPTURE_HAPROXY/name, which is
// how testdata/haproxy's real_2.6_*.prom pages were made.
func (w *haproxyWatch) capture(ctx context.Context, name, comment string) {
	dir := os.Getenv("RESILTOP_CAPTURE_HAPROXY")
	if dir == "" {
		return
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, w.scraper.Target().URL, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		w.t.Fatal(err)
	}
	text := "# " + strings.ReplaceAll(comment, "\n", "\n# ") + "\n" + string(body)
	if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
		w.t.Fatal(err)
	}
}

// TestHAProxyEndToEnd runs Debian's HAProxy in front of pgsim and checks
// what resiltop's engine makes of its exporter through steady, slow and
// outage, then forces the backend open through the runtime API and back.
func TestHAProxyEndToEnd(t *testing.T) {
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("haproxy binary not found (apt-get install haproxy); .ci/run installs it")
	}
	if testing.Short() {
		t.Skip("starts HAProxy and drives load for about 20 s")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()

	sim, err := pgsim.Start(ctx, pgsim.Config{GatewayOnly: true, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()

	ports := haproxyFreePorts(t, 3)
	front, metrics, adminPort := ports[0], ports[1], ports[2]
	var cfg bytes.Buffer
	if err := haproxyConfig.Execute(&cfg, map[string]any{
		"Admin": adminPort, "Front": front, "Metrics": metrics,
		"Gateway": strings.TrimPrefix(sim.GatewayURL, "http://"),
	}); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(cfgPath, cfg.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	out := &scrapetest.LockedBuffer{}
	cmd := exec.CommandContext(ctx, bin, "-db", "-f", cfgPath)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()

	target := fmt.Sprintf("http://127.0.0.1:%d/metrics", metrics)
	scraper, err := scrape.NewScraper(scrape.Target{URL: target, Interval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	w := &haproxyWatch{t: t, scraper: scraper, store: model.NewStore(model.StoreOptions{Profiles: profile.Builtin()}), log: out}

	// Bounded load: 12 callers in a loop, each request with a timeout.
	loadCtx, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var sent atomic.Int64
	client := &http.Client{Timeout: 20 * time.Second}
	for i := range 12 {
		wg.Go(func() {
			for n := 0; loadCtx.Err() == nil; n++ {
				body := fmt.Sprintf(`{"orderId":"o-%d-%d"}`, i, n)
				req, _ := http.NewRequestWithContext(loadCtx, http.MethodPost, fmt.Sprintf("http://127.0.0.1:%d/api/v1/mail", front), strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				if resp, err := client.Do(req); err == nil {
					io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
					resp.Body.Close()
				} else {
					time.Sleep(50 * time.Millisecond) // HAProxy not listening yet
				}
				sent.Add(1)
			}
		})
	}
	defer func() { stopLoad(); wg.Wait() }()

	d := w.until(ctx, "steady: backend up and serving", 10*time.Second, func(d model.Dependency) bool {
		return d.Breaker.State == model.BreakerClosed && d.CallsPerSecond.Known() && d.CallsPerSecond > 0
	})
	if !slices.Contains(w.store.Snapshot(time.Now(), time.Minute).Targets[0].Profiles, profile.HAProxy) {
		t.Errorf("haproxy profile not detected on %s", target)
	}
	if d.Pool.Max != 2 {
		t.Errorf("pool max = %v, want maxconn 2", d.Pool.Max)
	}

	if err := sim.SetScenario(pgsim.DepMail, pgsim.Slow); err != nil {
		t.Fatal(err)
	}
	w.until(ctx, "slow: queue grows behind maxconn", 10*time.Second, func(d model.Dependency) bool {
		return d.Pool.Pending.Known() && d.Pool.Pending >= 4
	})
	w.capture(ctx, "real_2.6_slow_queue.prom", "Captured from Debian's HAProxy 2.6.12 in front of pgsim (mail backend, scenario slow):\nmaxconn 2, timeout server 1.5s against 2-6 s responses: queue behind maxconn, 504s.")
	w.until(ctx, "slow: errors rise (504 on timeout server)", 10*time.Second, func(d model.Dependency) bool {
		return d.ErrorRatio.Known() && d.ErrorRatio > 0.3
	})

	retriesBefore := w.retries()
	if err := sim.SetScenario(pgsim.DepMail, pgsim.Outage); err != nil {
		t.Fatal(err)
	}
	w.until(ctx, "outage: backend DOWN shown as open", 10*time.Second, func(d model.Dependency) bool {
		return d.Breaker.State == model.BreakerOpen
	})
	if after := w.retries(); !(after > retriesBefore) {
		t.Errorf("retries did not rise during the outage: %v → %v", retriesBefore, after)
	}

	if err := sim.SetScenario(pgsim.DepMail, pgsim.Steady); err != nil {
		t.Fatal(err)
	}
	w.until(ctx, "steady again: backend back up", 10*time.Second, func(d model.Dependency) bool {
		return d.Breaker.State == model.BreakerClosed
	})

	resolver := admin.Resolver{Default: admin.Settings{HAProxyAdmin: fmt.Sprintf("127.0.0.1:%d", adminPort)}}
	sw, err := resolver.For(target, []string{profile.HAProxy})
	if err != nil {
		t.Fatal(err)
	}
	actx, acancel := context.WithTimeout(ctx, 5*time.Second)
	defer acancel()
	if _, err := sw.Set(actx, "nosuch", admin.ForceOpen); err == nil {
		t.Error("forcing an unknown backend open succeeded")
	}
	if _, err := sw.Set(actx, "mail", admin.ForceOpen); err != nil {
		t.Fatalf("force open: %v\n%s", err, out)
	}
	w.until(ctx, "force-open confirmed by a scrape", 5*time.Second, func(d model.Dependency) bool {
		return d.Breaker.State == model.BreakerForcedOpen
	})
	w.capture(ctx, "real_2.6_forced_open.prom", "Captured from Debian's HAProxy 2.6.12 in front of pgsim (mail backend):\nevery server put in maintenance through the runtime API (resiltop's force-open).")
	if _, err := sw.Set(actx, "mail", admin.Close); err != nil {
		t.Fatalf("close: %v", err)
	}
	w.until(ctx, "ready again confirmed by a scrape", 5*time.Second, func(d model.Dependency) bool {
		return d.Breaker.State == model.BreakerClosed
	})
	if sent.Load() == 0 {
		t.Error("no load was sent")
	}
}
