// Package admin switches circuit breakers through a service's admin
// endpoint: the resilience4j Spring Boot actuator protocol (which pgsim also
// speaks), Envoy's runtime maintenance mode, HAProxy's runtime API.
//
// A switch only asks; whether it took is confirmed by later scrapes, never
// assumed here.
package admin

import (
	"context"
	"errors"
)

// Action is what to do to a breaker, in the actuator protocol's words.
type Action string

// The actions resiltop offers.
const (
	ForceOpen Action = "FORCE_OPEN"
	Close     Action = "CLOSE"
	Disable   Action = "DISABLE"
)

// Errors a Switch reports in plain words. A context deadline (the call may
// or may not have taken) is reported as context.DeadlineExceeded, and a
// failure after the change may have reached the service (a 5xx, a cut
// connection) wraps ErrOutcomeUnknown: the UI shows both as "outcome
// unknown" and verifies by scrapes, never as failure.
var (
	ErrOutcomeUnknown = errors.New("the change may or may not have been made")
	ErrUnauthorized   = errors.New("the admin endpoint refused the token (401/403)")
	ErrUnknownName    = errors.New("the admin endpoint does not know that breaker")
	ErrUnsupported    = errors.New("this admin endpoint cannot do that")
	ErrNoToken        = errors.New("no admin token: set RESILTOP_ADMIN_TOKEN or pass --admin-token-file")
)

// Switch changes one target's breakers.
type Switch interface {
	// Set asks for action on the named breaker and returns the state the
	// endpoint reports right after (e.g. "FORCED_OPEN"), or "" when it
	// reports none.
	Set(ctx context.Context, name string, action Action) (string, error)
}
