package pgsim

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Scenario names, as accepted by --scenario, POST /sim/scenario and SetScenario.
const (
	Steady       = "steady"        // the dependency's defaults
	Slow         = "slow"          // latency 2–6 s, past the 3 s read timeout half the time
	Outage       = "outage"        // every request fails fast: 503 or a reset connection
	Flaky        = "flaky"         // 50% 502s and 10% reset connections (a payment is charged before its reset) before the defaults apply
	Blackhole    = "blackhole"     // accepts and never answers until the scenario changes
	CallbackLoss = "callback-loss" // half the payment callbacks are never sent (pg and pg2; steady elsewhere)
)

// Dependency names the simulated gateway serves, each with its own scenario.
// pg2 is a second payment gateway that the order service fails over to when
// Config.Failover is set.
const (
	DepPG    = "pg"
	DepMail  = "mail"
	DepStock = "stock"
	DepPG2   = "pg2"
)

// Dependencies of the order service that live inside it and have no
// scenario: its database pool and the sidecar proxy in front of pg
// (Config.ViaProxy).
const (
	DepDB      = "db"
	DepPGProxy = "pg-proxy"
)

var (
	scenarioNames  = []string{Steady, Slow, Outage, Flaky, Blackhole, CallbackLoss}
	dependencyList = []string{DepPG, DepMail, DepStock, DepPG2}
)

// Errors for bad scenario requests; HTTP handlers answer them with 4xx.
var (
	ErrUnknownDependency = errors.New("unknown dependency")
	ErrUnknownScenario   = errors.New("unknown scenario")
)

// ScenarioNames lists every scenario name.
func ScenarioNames() []string { return slices.Clone(scenarioNames) }

// Dependencies lists the gateway's simulated dependencies, those a scenario
// can be set for: pg, mail, stock, pg2.
func Dependencies() []string { return slices.Clone(dependencyList) }

func validateScenario(dep, name string) error {
	if !slices.Contains(dependencyList, dep) {
		return fmt.Errorf("%w %q (want one of %s)", ErrUnknownDependency, dep, strings.Join(dependencyList, ", "))
	}
	if !slices.Contains(scenarioNames, name) {
		return fmt.Errorf("%w %q (want one of %s)", ErrUnknownScenario, name, strings.Join(scenarioNames, ", "))
	}
	return nil
}

// ParseScenarioFlag parses one --scenario value, "DEP=NAME".
func ParseScenarioFlag(v string) (dep, name string, err error) {
	dep, name, ok := strings.Cut(v, "=")
	if !ok {
		return "", "", fmt.Errorf("scenario %q: want DEP=NAME, e.g. pg=outage", v)
	}
	dep, name = strings.TrimSpace(dep), strings.TrimSpace(name)
	if err := validateScenario(dep, name); err != nil {
		return "", "", err
	}
	return dep, name, nil
}

// scenarios holds the current scenario per dependency. Each dependency has a
// channel that is closed when its scenario changes, so requests held by
// blackhole are released the moment the scenario moves on.
type scenarios struct {
	mu      sync.Mutex
	cur     map[string]string
	changed map[string]chan struct{}
}

func newScenarios(initial map[string]string) (*scenarios, error) {
	s := &scenarios{cur: map[string]string{}, changed: map[string]chan struct{}{}}
	for _, d := range dependencyList {
		s.cur[d] = Steady
		s.changed[d] = make(chan struct{})
	}
	for d, n := range initial {
		if err := validateScenario(d, n); err != nil {
			return nil, err
		}
		s.cur[d] = n
	}
	return s, nil
}

func (s *scenarios) get(dep string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur[dep]
}

// watch returns the scenario of dep and a channel closed when it changes.
func (s *scenarios) watch(dep string) (string, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur[dep], s.changed[dep]
}

func (s *scenarios) set(dep, name string) error {
	if err := validateScenario(dep, name); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur[dep] == name {
		return nil
	}
	s.cur[dep] = name
	close(s.changed[dep])
	s.changed[dep] = make(chan struct{})
	return nil
}

func (s *scenarios) all() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.cur))
	for k, v := range s.cur {
		out[k] = v
	}
	return out
}
