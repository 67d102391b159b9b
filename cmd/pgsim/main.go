// Command pgsim runs the payment-gateway simulator and the instrumented
// order service that resiltop watches.
//
//	pgsim [flags]                      gateway + order service + load, one process
//	pgsim gateway [flags]              the gateway alone
//	pgsim client --gateway URL [flags] the order service and its load alone
//
// The admin token comes from PGSIM_ADMIN_TOKEN; without it pgsim makes a
// random one and prints it once. SIGINT or SIGTERM stop it within 2 s.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"resiltop/internal/pgsim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// scenarioFlags collects repeated --scenario DEP=NAME values.
type scenarioFlags map[string]string

func (s scenarioFlags) String() string {
	parts := make([]string, 0, len(s))
	for d, n := range s {
		parts = append(parts, d+"="+n)
	}
	return strings.Join(parts, ",")
}

func (s scenarioFlags) Set(v string) error {
	dep, name, err := pgsim.ParseScenarioFlag(v)
	if err != nil {
		return err
	}
	s[dep] = name
	return nil
}

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	mode := "all"
	if len(args) > 0 && (args[0] == "gateway" || args[0] == "client") {
		mode, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("pgsim "+mode, flag.ContinueOnError)
	fs.SetOutput(stderr)
	scen := scenarioFlags{}
	cfg := pgsim.Config{}
	fs.StringVar(&cfg.GatewayAddr, "gateway-addr", "127.0.0.1:9101", "gateway listen address (port 0 picks one)")
	fs.StringVar(&cfg.ClientAddr, "client-addr", "127.0.0.1:9102", "order service listen address (metrics, admin; port 0 picks one)")
	fs.Float64Var(&cfg.RPS, "rps", 20, "orders per second from the load generator (0: none)")
	fs.IntVar(&cfg.Users, "users", 1000, "distinct users the load generator picks from")
	fs.Int64Var(&cfg.Seed, "seed", 0, "random seed (0: from the clock)")
	fs.Var(scen, "scenario", "starting scenario DEP=NAME, repeatable; scenarios: "+strings.Join(pgsim.ScenarioNames(), ", "))
	fs.BoolVar(&cfg.AllowRemoteCallbacks, "allow-remote-callbacks", false, "let the gateway send callbacks to non-loopback hosts")
	verbose := fs.Bool("verbose", false, "log events to stderr")
	var burst bool
	if mode != "gateway" {
		fs.IntVar(&cfg.DBPool, "db-pool", 20, "size of the order service's database pool")
		fs.BoolVar(&cfg.ReleaseDBBeforeCall, "release-db-before-call", false, "return the db connection before calling pg (the fix; by default it is held across the call)")
		fs.BoolVar(&cfg.NoIdempotencyKeys, "no-idempotency-keys", false, "send requests without idempotency keys, still retrying them (duplicate charges)")
		fs.IntVar(&cfg.MaxAttempts, "max-attempts", 3, "the order client's attempts per call, the first included (1: no retries)")
		fs.BoolVar(&cfg.ViaProxy, "via-proxy", false, "call pg through a proxy that retries timed-out tries by itself (dependency pg-proxy)")
		fs.BoolVar(&cfg.Failover, "failover", false, "fail payments over to a second gateway, pg2, while pg's breaker is open")
		fs.BoolVar(&burst, "burst", false, "send one burst of orders once started (100 concurrent for 10 s)")
	}
	if mode == "client" {
		fs.StringVar(&cfg.GatewayURL, "gateway", "", "base URL of a running pgsim gateway (required)")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "pgsim: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if mode != "gateway" && (cfg.DBPool < 1 || cfg.MaxAttempts < 1) {
		fmt.Fprintln(stderr, "pgsim: --db-pool and --max-attempts must be at least 1")
		return 2
	}
	if mode == "client" && cfg.GatewayURL == "" {
		fmt.Fprintln(stderr, "pgsim client: --gateway URL is required")
		return 2
	}
	cfg.GatewayOnly = mode == "gateway"
	cfg.Scenarios = scen
	cfg.Token = getenv("PGSIM_ADMIN_TOKEN")
	if *verbose {
		logger := log.New(stderr, "pgsim ", log.LstdFlags)
		cfg.Logf = logger.Printf
	}

	sim, err := pgsim.Start(ctx, cfg)
	if errors.Is(err, pgsim.ErrConfig) {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "pgsim: %v\n", err)
		return 1
	}
	if sim.GatewayURL != "" {
		fmt.Fprintf(stdout, "gateway:          %s\n", sim.GatewayURL)
		fmt.Fprintf(stdout, "gateway metrics:  %s\n", sim.GatewayMetricsURL)
	}
	if sim.MetricsURL != "" {
		fmt.Fprintf(stdout, "metrics:          %s\n", sim.MetricsURL)
		fmt.Fprintf(stdout, "admin:            %s\n", sim.AdminURL)
	}
	if cfg.Token == "" {
		fmt.Fprintf(stdout, "admin token:      %s (random; set PGSIM_ADMIN_TOKEN to choose one)\n", sim.Token())
	}
	if burst {
		desc, err := sim.Burst()
		if err != nil {
			fmt.Fprintf(stderr, "pgsim: %v\n", err)
		} else {
			fmt.Fprintln(stdout, desc)
		}
	}
	<-ctx.Done()
	if err := sim.Close(); err != nil {
		fmt.Fprintf(stderr, "pgsim: %v\n", err)
		return 1
	}
	return 0
}
