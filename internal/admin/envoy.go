package admin

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// Envoy has no breaker switch; its closest equivalent is runtime maintenance
// mode, which makes the router answer 503 for a cluster at once without
// calling it (DESIGN.md §4):
//
//	force open → POST {admin}/runtime_modify?upstream.maintenance_mode.<cluster>=100
//	close      → POST {admin}/runtime_modify?upstream.maintenance_mode.<cluster>=
//
// The cluster's upstream_rq_maintenance_mode counter rising in later scrapes
// confirms it. Disabling has no equivalent (ErrUnsupported).
type Envoy struct {
	actuator *Actuator // reused for its bounded request and error mapping
}

// NewEnvoy returns a switch for the Envoy admin listener at admin (e.g.
// "http://127.0.0.1:9901"). A nil client means a plain client with a 10 s
// safety timeout.
func NewEnvoy(admin string, client *http.Client) *Envoy {
	return &Envoy{actuator: NewActuator(admin, "", client)}
}

// Set puts cluster into maintenance mode (ForceOpen) or takes it out (Close)
// and returns "" because Envoy reports no state.
func (e *Envoy) Set(ctx context.Context, cluster string, action Action) (string, error) {
	var value string
	switch action {
	case ForceOpen:
		value = "100"
	case Close:
		value = ""
	case Disable:
		return "", fmt.Errorf("%w: Envoy has no way to disable a cluster's protection", ErrUnsupported)
	default:
		return "", fmt.Errorf("unknown admin action %q", action)
	}
	// The cluster name goes into the query raw (Envoy's admin does not
	// percent-decode runtime keys in every version), so refuse anything that
	// would change the query's structure instead of escaping it.
	if cluster == "" || strings.ContainsAny(cluster, "&=#?% \t\r\n/") || strings.ContainsFunc(cluster, isControl) {
		return "", fmt.Errorf("%w: %q is not a valid Envoy cluster name", ErrUnknownName, cluster)
	}
	target := e.actuator.base + "/runtime_modify?upstream.maintenance_mode." + cluster + "=" + value
	status, body, err := e.actuator.do(ctx, http.MethodPost, target, nil)
	if err != nil {
		return "", err
	}
	if status == http.StatusNotFound {
		return "", fmt.Errorf("the Envoy admin has no runtime_modify endpoint (HTTP 404): %s", serverMessage(body))
	}
	return "", e.actuator.changeStatusError(status, body)
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }
