// Command resiltop is a terminal dashboard for the calls a service makes to
// other services: circuit breakers, retries, tail latency, pools, bulkheads
// and PENDING backlogs, scraped live from Prometheus metrics.
//
//	resiltop --demo                      # watch the built-in payment-gateway simulator
//	resiltop --target http://host/metrics
//	resiltop --once -o json --target …   # one reading, for scripts
//
// See the README for every flag; `resiltop -h` lists them.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/charmbracelet/x/term"

	"resiltop/internal/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := app.Main(ctx, os.Args[1:], app.Env{
		Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv,
		Terminal: term.IsTerminal(os.Stdout.Fd()),
	})
	stop()
	os.Exit(code)
}
