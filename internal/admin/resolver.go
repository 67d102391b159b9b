package admin

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"
)

// ErrReadOnly is returned by Resolver.For when admin actions are switched off.
var ErrReadOnly = errors.New("read-only: admin actions are disabled (--read-only)")

// Profile names that choose a switch other than the actuator; they match the
// Name of the model profiles for those conventions.
const (
	ProfileEnvoy   = "envoy"
	ProfileHAProxy = "haproxy"
)

// Settings are how to reach one target's admin endpoint.
type Settings struct {
	// Admin overrides the admin base URL (--admin). Empty means the
	// target's scheme://host:port/actuator for the actuator protocol, and
	// the target's scheme://host:port for Envoy (its metrics are served by
	// the admin listener itself).
	Admin string
	// Token is the actuator's bearer token; empty means none was provided.
	Token string
	// HAProxyAdmin is the runtime API address (--haproxy-admin): host:port
	// or a unix socket path. Empty means HAProxy targets cannot be switched.
	HAProxyAdmin string
	// ReadOnly refuses every switch (--read-only).
	ReadOnly bool
}

// Resolver picks the admin Switch for a target from its settings and the
// profiles detected on its page. The CLI fills it once; the UI asks For a
// switch when the user confirms an action.
//
// The choice, first match wins:
//   - ReadOnly → ErrReadOnly.
//   - the "haproxy" profile → HAProxy on HAProxyAdmin (ErrUnsupported
//     when no address was given);
//   - the "envoy" profile → Envoy runtime maintenance mode on Admin, or on
//     the target's own scheme://host:port;
//   - otherwise the resilience4j actuator protocol on Admin, or on the
//     target's scheme://host:port/actuator, with Token (ErrNoToken when
//     empty: resiltop does not send unauthenticated admin requests).
type Resolver struct {
	// Default applies to every target without an entry in Targets.
	Default Settings
	// Targets holds per-target settings by target URL.
	Targets map[string]Settings
	// Client is the HTTP client for actuator and Envoy calls; nil means a
	// plain client with a 10 s safety timeout. Calls are bounded by the
	// caller's context either way.
	Client *http.Client
	// SocketTimeout bounds each HAProxy runtime API exchange; ≤ 0 means
	// DefaultHAProxyTimeout.
	SocketTimeout time.Duration
	// AdminFor, when set, gives the admin base URL of a target whose
	// settings name none (fleet mode: --admin-template over the target's
	// labels); its error is shown to the user as help.
	AdminFor func(target string) (string, error)
}

// For returns the switch for target (its metrics URL) given the names of the
// profiles detected on its page.
func (r *Resolver) For(target string, profiles []string) (Switch, error) {
	s, ok := r.Targets[target]
	if !ok {
		s = r.Default
	}
	if s.ReadOnly {
		return nil, ErrReadOnly
	}
	if slices.Contains(profiles, ProfileHAProxy) {
		if s.HAProxyAdmin == "" {
			return nil, fmt.Errorf("%w: HAProxy backends are switched through its runtime API; pass --haproxy-admin ADDR", ErrUnsupported)
		}
		return NewHAProxy(s.HAProxyAdmin, r.SocketTimeout), nil
	}
	if s.Admin == "" && r.AdminFor != nil {
		base, err := r.AdminFor(target)
		if err != nil {
			return nil, err
		}
		s.Admin = base
	}
	origin := ""
	if s.Admin == "" {
		u, err := url.Parse(target)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return nil, fmt.Errorf("cannot derive an admin URL from target %q; pass --admin URL", target)
		}
		origin = u.Scheme + "://" + u.Host
	}
	if slices.Contains(profiles, ProfileEnvoy) {
		base := s.Admin
		if base == "" {
			base = origin
		}
		return NewEnvoy(base, r.Client), nil
	}
	if s.Token == "" {
		return nil, ErrNoToken
	}
	base := s.Admin
	if base == "" {
		base = origin + "/actuator"
	}
	return NewActuator(base, s.Token, r.Client), nil
}
