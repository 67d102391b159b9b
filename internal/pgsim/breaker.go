package pgsim

import (
	"errors"
	"sync"
	"time"

	"github.com/failsafe-go/failsafe-go/circuitbreaker"
)

// breaker is failsafe-go's circuit breaker with an override in front of it.
// failsafe's manual Open() half-opens after its delay, so forced_open (stay
// open until closed) and disabled (let everything through) are kept here and
// the library breaker is bypassed while either holds.
type breaker struct {
	dep string
	cb  circuitbreaker.CircuitBreaker[any]
	m   *metrics

	mu        sync.Mutex
	override  string // "", stateForcedOpen or stateDisabled
	effective string // what the gauge shows
}

// breakerConfig is the sliding-window configuration. The window is
// time-based with a minimum number of calls, so that pg's 40% request-level
// failures (mostly absorbed by retries) never open it under steady, while an
// outage opens it as soon as minCalls calls have failed.
type breakerConfig struct {
	failureRate float64
	minCalls    uint
	window      time.Duration
	openFor     time.Duration
	probes      uint
}

func newBreaker(dep string, cfg breakerConfig, m *metrics) *breaker {
	b := &breaker{dep: dep, m: m, effective: stateClosed}
	b.cb = circuitbreaker.NewBuilder[any]().
		WithFailureRateThreshold(cfg.failureRate, cfg.minCalls, cfg.window).
		WithDelay(cfg.openFor).
		WithSuccessThreshold(cfg.probes).
		OnStateChanged(func(e circuitbreaker.StateChangedEvent) { b.libraryMoved(libraryState(e.NewState)) }).
		Build()
	return b
}

func libraryState(s circuitbreaker.State) string {
	switch s {
	case circuitbreaker.OpenState:
		return stateOpen
	case circuitbreaker.HalfOpenState:
		return stateHalfOpen
	default:
		return stateClosed
	}
}

// libraryMoved follows the library breaker unless an override holds. It runs
// from failsafe's listener, which is called without failsafe's lock held.
func (b *breaker) libraryMoved(to string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.override != "" {
		return
	}
	b.moveLocked(to)
}

func (b *breaker) moveLocked(to string) {
	if b.effective == to {
		return
	}
	b.m.setBreaker(b.dep, b.effective, to, time.Now())
	b.effective = to
}

// state is the breaker's state as exported.
func (b *breaker) state() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.effective
}

// acquire asks for a permit. tracked reports whether the call's result must
// be recorded with record (false while disabled).
func (b *breaker) acquire() (permitted, tracked bool) {
	b.mu.Lock()
	o := b.override
	b.mu.Unlock()
	switch o {
	case stateForcedOpen:
		return false, false
	case stateDisabled:
		return true, false
	}
	return b.cb.TryAcquirePermit(), true
}

// record feeds a tracked call's result to the library breaker.
func (b *breaker) record(failed bool) {
	if failed {
		b.cb.RecordFailure()
	} else {
		b.cb.RecordSuccess()
	}
}

// Admin actions, in the actuator protocol's words.
const (
	actionForceOpen = "FORCE_OPEN"
	actionClose     = "CLOSE"
	actionDisable   = "DISABLE"
)

var errUnknownAction = errors.New(`updateState must be "FORCE_OPEN", "CLOSE" or "DISABLE"`)

// apply performs an admin action and returns the new state.
func (b *breaker) apply(action string) (string, error) {
	switch action {
	case actionForceOpen, actionDisable:
		to := stateForcedOpen
		if action == actionDisable {
			to = stateDisabled
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		b.override = to
		b.moveLocked(to)
		return to, nil
	case actionClose:
		// Reset the library breaker while the override still hides its
		// listener events, then lift the override.
		b.cb.Close()
		b.mu.Lock()
		defer b.mu.Unlock()
		b.override = ""
		b.moveLocked(stateClosed)
		return stateClosed, nil
	}
	return "", errUnknownAction
}

// failureRate is the library breaker's failure rate in percent over its
// window, or -1 when it has too few calls to say (resilience4j's convention).
func (b *breaker) failureRate() float64 {
	mt := b.cb.Metrics()
	if mt.Executions() == 0 {
		return -1
	}
	return 100 * mt.FailureRate()
}

func (b *breaker) bufferedCalls() (calls, failures uint) {
	mt := b.cb.Metrics()
	return mt.Executions(), mt.Failures()
}
