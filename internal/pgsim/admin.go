package pgsim

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// actuatorState maps a convention state to resilience4j's name for it.
func actuatorState(s string) string { return strings.ToUpper(s) }

// updateStateRequest is the body of POST /actuator/circuitbreakers/{name}.
type updateStateRequest struct {
	UpdateState string `json:"updateState"`
}

// decodeUpdateState parses an actuator updateState body.
func decodeUpdateState(r io.Reader) (string, error) {
	var req updateStateRequest
	if err := decodeStrict(r, &req); err != nil {
		return "", err
	}
	switch req.UpdateState {
	case actionForceOpen, actionClose, actionDisable:
		return req.UpdateState, nil
	}
	return "", errUnknownAction
}

// breakerView is one breaker in GET /actuator/circuitbreakers, with
// resilience4j's field names.
type breakerView struct {
	State                string `json:"state"`
	FailureRate          string `json:"failureRate"`
	FailureRateThreshold string `json:"failureRateThreshold"`
	BufferedCalls        uint   `json:"bufferedCalls"`
	FailedCalls          uint   `json:"failedCalls"`
}

func (s *orderService) handleListBreakers(w http.ResponseWriter, _ *http.Request) {
	out := map[string]breakerView{}
	for d, c := range s.deps {
		b := c.br
		calls, failed := b.bufferedCalls()
		out[d] = breakerView{
			State:                actuatorState(b.state()),
			FailureRate:          fmt.Sprintf("%.1f%%", b.failureRate()),
			FailureRateThreshold: fmt.Sprintf("%.1f%%", 100*s.cfg.Policy.breaker.failureRate),
			BufferedCalls:        calls,
			FailedCalls:          failed,
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"circuitBreakers": out})
}

func (s *orderService) handleUpdateBreaker(w http.ResponseWriter, r *http.Request) {
	if !authorize(w, r, s.cfg.Token) {
		return
	}
	name := r.PathValue("name")
	c, ok := s.deps[name]
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no circuit breaker named %q", name))
		return
	}
	action, err := decodeUpdateState(r.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	state, err := c.br.apply(action)
	if err != nil {
		code := http.StatusInternalServerError
		if errors.Is(err, errUnknownAction) {
			code = http.StatusBadRequest
		}
		writeError(w, code, err.Error())
		return
	}
	s.cfg.Logf("admin: %s breaker %s → %s", name, action, state)
	writeJSON(w, http.StatusOK, map[string]string{
		"circuitBreakerName": name,
		"currentState":       actuatorState(state),
		"message":            fmt.Sprintf("%s state has been changed successfully", name),
	})
}
