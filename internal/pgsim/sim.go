package pgsim

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Config configures Start. The zero value runs gateway and order service on
// ephemeral loopback ports with no load.
type Config struct {
	// GatewayAddr and ClientAddr are the listen addresses; empty means
	// "127.0.0.1:0" (the CLI defaults to 127.0.0.1:9101 and :9102).
	GatewayAddr, ClientAddr string
	// RPS is the load generator's orders per second; 0 places none (orders
	// can still be posted to the order service's POST /orders).
	RPS float64
	// Scenarios maps a dependency (pg, mail, stock) to its starting scenario;
	// the others start steady.
	Scenarios map[string]string
	// Token guards the admin endpoint and POST /sim/scenario; "" makes a
	// random one (see Sim.Token).
	Token string
	// Users is how many distinct users the load generator picks from (1000).
	Users int
	// Seed seeds the simulation's randomness; 0 seeds from the clock.
	Seed int64
	// Logf receives one line per notable event; nil is silent.
	Logf func(string, ...any)

	// GatewayURL, when set, makes Start run only the order service and its
	// load against that gateway (pgsim client). Its scenario calls then go
	// over HTTP and need the gateway's token.
	GatewayURL string
	// GatewayOnly makes Start run only the gateway (pgsim gateway).
	GatewayOnly bool
	// AllowRemoteCallbacks lets the gateway send callbacks off loopback.
	AllowRemoteCallbacks bool

	// DBPool is the size of the order service's database pool (20: at the
	// default 20 orders/s a steady pg keeps up to ~15 in use, held across
	// its calls).
	DBPool int
	// ReleaseDBBeforeCall makes the order handler return its database
	// connection before calling pg and take one again after, the fix for
	// the default: holding it across the call, so that a slow pg drains the
	// db pool.
	ReleaseDBBeforeCall bool
	// NoIdempotencyKeys makes the order service send its requests without
	// idempotency keys while still retrying them: the gateway then charges
	// an order twice when a charged payment's answer is lost.
	NoIdempotencyKeys bool
	// MaxAttempts is the order client's attempts per call, the first
	// included (3); 1 turns its retries off.
	MaxAttempts int
	// ViaProxy puts a reverse proxy between the order service and pg that
	// retries a try that timed out by itself, as some proxies do by
	// default; it reports its own retries as dependency pg-proxy.
	ViaProxy bool
	// Failover gives the order service a second payment gateway, pg2, that
	// takes the payments while pg's breaker refuses them.
	Failover bool
	// BurstConcurrency is how many orders a Burst keeps in flight (100).
	BurstConcurrency int

	// Timing overrides delays; zero fields keep the defaults. Tests shorten
	// only the delays their behaviour does not depend on.
	Timing Timing
}

// Timing holds the simulation's delays. Zero means the default in brackets.
type Timing struct {
	AttemptTimeout    time.Duration // per-attempt (read) timeout [3s]
	BreakerOpen       time.Duration // how long the breaker stays open before probing [10s]
	BreakerWindow     time.Duration // the breaker's sliding time window [5s]
	BreakerMinCalls   uint          // calls in the window before the breaker may open [20]
	ReconcileAfter    time.Duration // PENDING age before the reconciler polls [10s]
	ReconcileInterval time.Duration // how often the reconciler looks [1s]
	GiveUpAfter       time.Duration // age after which a payment the gateway never saw expires [30s]
	ProcessingMin     time.Duration // the gateway's asynchronous processing, lower bound [1s]
	ProcessingMax     time.Duration // upper bound [5s]
	DrainTimeout      time.Duration // how long Close lets in-flight calls finish before cancelling them [500ms]
	DBAcquireTimeout  time.Duration // how long an order waits for a database connection [1s]
	ProxyTryTimeout   time.Duration // the proxy's per-try timeout [a third of AttemptTimeout: two tries fit in one attempt]
	BurstDuration     time.Duration // how long a Burst lasts [10s]
}

func (t Timing) withDefaults() Timing {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&t.AttemptTimeout, 3*time.Second)
	def(&t.BreakerOpen, 10*time.Second)
	def(&t.BreakerWindow, 5*time.Second)
	def(&t.ReconcileAfter, 10*time.Second)
	def(&t.ReconcileInterval, time.Second)
	def(&t.GiveUpAfter, 30*time.Second)
	def(&t.ProcessingMin, time.Second)
	def(&t.ProcessingMax, 5*time.Second)
	def(&t.DrainTimeout, 500*time.Millisecond)
	def(&t.DBAcquireTimeout, time.Second)
	def(&t.ProxyTryTimeout, t.AttemptTimeout/3)
	def(&t.BurstDuration, 10*time.Second)
	if t.BreakerMinCalls == 0 {
		t.BreakerMinCalls = 20
	}
	if t.ProcessingMax < t.ProcessingMin {
		t.ProcessingMax = t.ProcessingMin
	}
	return t
}

// policyFor is the order service's policy set for every dependency.
func policyFor(t Timing, maxAttempts int) depPolicy {
	return depPolicy{
		attemptTimeout: t.AttemptTimeout,
		connectTimeout: time.Second,
		maxAttempts:    maxAttempts,
		backoffBase:    200 * time.Millisecond,
		backoffMax:     2 * time.Second,
		bulkhead:       20,
		poolMax:        32,
		slowCall:       2 * time.Second,
		breaker: breakerConfig{
			failureRate: 0.5, minCalls: t.BreakerMinCalls, window: t.BreakerWindow,
			openFor: t.BreakerOpen, probes: 3,
		},
	}
}

// Sim is a running simulation.
type Sim struct {
	// GatewayURL is the gateway's base URL ("" in client mode: see Config.GatewayURL).
	GatewayURL string
	// GatewayMetricsURL is the gateway's own /metrics (duplicate charges, callbacks).
	GatewayMetricsURL string
	// MetricsURL is the order service's /metrics in the resiltop convention;
	// "" when only the gateway runs.
	MetricsURL string
	// AdminURL is the order service's actuator base (".../actuator").
	AdminURL string

	token     string
	gw        *gateway
	svc       *orderService
	remote    string // gateway URL in client mode
	httpc     *http.Client
	closeOnce sync.Once
	closeErr  error
}

// ErrConfig marks an invalid Config: the caller's mistake, not a failure.
var ErrConfig = errors.New("pgsim: invalid configuration")

// Start runs the simulation. It returns once every listener is bound; the
// simulation stops when Close is called or ctx is done.
func Start(ctx context.Context, cfg Config) (*Sim, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if cfg.GatewayOnly && cfg.GatewayURL != "" {
		return nil, fmt.Errorf("%w: GatewayOnly and GatewayURL exclude each other", ErrConfig)
	}
	if cfg.RPS < 0 {
		return nil, fmt.Errorf("%w: RPS must not be negative", ErrConfig)
	}
	if cfg.DBPool < 0 || cfg.MaxAttempts < 0 || cfg.BurstConcurrency < 0 {
		return nil, fmt.Errorf("%w: DBPool, MaxAttempts and BurstConcurrency must not be negative", ErrConfig)
	}
	if cfg.DBPool > 10000 || cfg.MaxAttempts > 10 || cfg.BurstConcurrency > 10000 {
		return nil, fmt.Errorf("%w: DBPool and BurstConcurrency are at most 10000, MaxAttempts at most 10", ErrConfig)
	}
	cfg.DBPool = cmp.Or(cfg.DBPool, 20)
	cfg.MaxAttempts = cmp.Or(cfg.MaxAttempts, 3)
	cfg.BurstConcurrency = cmp.Or(cfg.BurstConcurrency, 100)
	for d, n := range cfg.Scenarios {
		if err := validateScenario(d, n); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConfig, err)
		}
	}
	t := cfg.Timing.withDefaults()
	s := &Sim{token: cfg.Token, httpc: &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil}}}
	if s.token == "" {
		s.token = randomToken()
	}
	gatewayURL := cfg.GatewayURL
	if gatewayURL == "" {
		gw, err := startGateway(gatewayConfig{
			Addr: cfg.GatewayAddr, Token: s.token, Scenarios: cfg.Scenarios, Seed: cfg.Seed, Logf: cfg.Logf,
			ProcessingMin: t.ProcessingMin, ProcessingMax: t.ProcessingMax,
			AllowRemoteCallbacks: cfg.AllowRemoteCallbacks,
		})
		if err != nil {
			return nil, err
		}
		s.gw, s.GatewayURL, gatewayURL = gw, gw.url, gw.url
		s.GatewayMetricsURL = gw.url + "/metrics"
	} else {
		s.remote = gatewayURL
	}
	if !cfg.GatewayOnly {
		svc, err := startOrderService(clientConfig{
			Addr: cfg.ClientAddr, GatewayURL: gatewayURL, Token: s.token, RPS: cfg.RPS, Users: cfg.Users,
			Seed: cfg.Seed, Logf: cfg.Logf, Policy: policyFor(t, cfg.MaxAttempts),
			ReconcileAfter: t.ReconcileAfter, ReconcileInterval: t.ReconcileInterval, GiveUpAfter: t.GiveUpAfter,
			DrainTimeout: t.DrainTimeout, DBPool: cfg.DBPool, DBAcquireTimeout: t.DBAcquireTimeout,
			ReleaseDBBeforeCall: cfg.ReleaseDBBeforeCall, NoIdempotencyKeys: cfg.NoIdempotencyKeys,
			ViaProxy: cfg.ViaProxy, ProxyTryTimeout: t.ProxyTryTimeout,
			Failover: cfg.Failover, BurstConcurrency: cfg.BurstConcurrency, BurstDuration: t.BurstDuration,
		})
		if err != nil {
			_ = s.Close()
			return nil, err
		}
		s.svc = svc
		s.MetricsURL = svc.url + "/metrics"
		s.AdminURL = svc.url + "/actuator"
	}
	if s.remote != "" {
		for d, n := range cfg.Scenarios {
			if err := s.SetScenario(d, n); err != nil {
				_ = s.Close()
				return nil, err
			}
		}
	}
	go func() {
		<-ctx.Done()
		_ = s.Close()
	}()
	return s, nil
}

// Token is the bearer token of the admin endpoint and POST /sim/scenario.
func (s *Sim) Token() string { return s.token }

// Dependencies lists the simulated dependencies the order service calls,
// those a scenario can be set for: pg, mail, stock, and pg2 with
// Config.Failover (the gateway alone serves all four).
func (s *Sim) Dependencies() []string {
	if s.svc != nil && s.svc.deps[DepPG2] == nil {
		return []string{DepPG, DepMail, DepStock}
	}
	return Dependencies()
}

// ScenarioNames lists the scenarios a dependency can run.
func (s *Sim) ScenarioNames() []string { return ScenarioNames() }

// Scenario returns dep's current scenario, or "" for an unknown dependency
// (or, in client mode, when the gateway cannot be asked).
func (s *Sim) Scenario(dep string) string {
	if !slices.Contains(dependencyList, dep) {
		return ""
	}
	if s.gw != nil {
		return s.gw.sc.get(dep)
	}
	resp, err := s.httpc.Get(s.remote + "/sim/scenario")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var out struct {
		Scenarios map[string]string `json:"scenarios"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(&out); err != nil {
		return ""
	}
	return out.Scenarios[dep]
}

// SetScenario switches dep to the named scenario. Unknown names change nothing.
func (s *Sim) SetScenario(dep, name string) error {
	if err := validateScenario(dep, name); err != nil {
		return err
	}
	if s.gw != nil {
		return s.gw.sc.set(dep, name)
	}
	body, _ := json.Marshal(scenarioRequest{Dependency: dep, Scenario: name})
	req, err := http.NewRequest(http.MethodPost, s.remote+"/sim/scenario", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.httpc.Do(req)
	if err != nil {
		return fmt.Errorf("pgsim: switching %s on the gateway: %w", dep, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("pgsim: gateway answered %s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}

// ErrBurstRunning refuses a Burst while another is still running.
var ErrBurstRunning = errors.New("a burst is already running")

// Burst starts a burst of orders (Config.BurstConcurrency in flight at once
// for Timing.BurstDuration, 100 for 10 s by default) beside the steady load
// and returns at once with a description of it. It fails while another
// burst runs, and without an order service.
func (s *Sim) Burst() (string, error) {
	if s.svc == nil {
		return "", errors.New("pgsim: no order service to send a burst through")
	}
	return s.svc.burst()
}

// Close stops the load, drains in-flight work (cancelling what is still
// running after Timing.DrainTimeout) and stops both servers. It returns
// within 2 s; later calls return the first call's result.
func (s *Sim) Close() error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 1900*time.Millisecond)
		defer cancel()
		var errs []error
		if s.svc != nil {
			errs = append(errs, s.svc.close(ctx))
		}
		if s.gw != nil {
			errs = append(errs, s.gw.close(ctx))
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}
