package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxBody bounds every admin response body read into memory.
const maxBody = 1 << 20

// defaultHTTPTimeout is a safety net for callers that pass a context without
// a deadline; normal calls are bounded by the caller's context.
const defaultHTTPTimeout = 10 * time.Second

// Actuator speaks the resilience4j Spring Boot actuator protocol
// (DESIGN.md §4), which pgsim speaks too:
//
//	GET  {base}/circuitbreakers          → {"circuitBreakers":{"pg":{"state":"CLOSED",…}}}
//	POST {base}/circuitbreakers/{name}   ← {"updateState":"FORCE_OPEN"|"CLOSE"|"DISABLE"}
//
// resilience4j silently creates a breaker for a name it does not know, so Set
// lists the breakers first and refuses (ErrUnknownName, nothing posted) a name
// the endpoint did not list. The token is sent as a Bearer header and never
// appears in an error.
type Actuator struct {
	base   string
	token  string
	client *http.Client
}

// NewActuator returns a switch for the actuator at base (e.g.
// "http://orders:8080/actuator"). token may be empty for endpoints without
// auth. A nil client means a plain client with a 10 s safety timeout.
func NewActuator(base string, token string, client *http.Client) *Actuator {
	if client == nil {
		client = &http.Client{Timeout: defaultHTTPTimeout}
	}
	return &Actuator{base: strings.TrimRight(base, "/"), token: token, client: client}
}

// List returns every breaker the endpoint knows, name → state as the
// endpoint spells it (e.g. "CLOSED", "FORCED_OPEN").
func (a *Actuator) List(ctx context.Context) (map[string]string, error) {
	status, body, err := a.do(ctx, http.MethodGet, a.base+"/circuitbreakers", nil)
	if err != nil {
		return nil, err
	}
	if err := a.statusError(status, body); err != nil {
		return nil, err
	}
	return parseBreakerList(body)
}

// parseBreakerList reads the actuator's breaker list: name → state.
func parseBreakerList(body []byte) (map[string]string, error) {
	var doc struct {
		CircuitBreakers map[string]struct {
			State string `json:"state"`
		} `json:"circuitBreakers"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("admin endpoint: circuit breaker list is not valid JSON: %v", err)
	}
	if doc.CircuitBreakers == nil {
		return nil, errors.New(`admin endpoint: circuit breaker list has no "circuitBreakers" object`)
	}
	out := make(map[string]string, len(doc.CircuitBreakers))
	for name, cb := range doc.CircuitBreakers {
		out[name] = cb.State
	}
	return out, nil
}

// Set asks for action on the named breaker after checking that the endpoint
// lists it, and returns the state the endpoint reports ("FORCED_OPEN", …).
func (a *Actuator) Set(ctx context.Context, name string, action Action) (string, error) {
	switch action {
	case ForceOpen, Close, Disable:
	default:
		return "", fmt.Errorf("unknown admin action %q", action)
	}
	known, err := a.List(ctx)
	if err != nil {
		return "", err
	}
	if _, ok := known[name]; !ok {
		return "", fmt.Errorf("%w: %q is not among the %d breakers the endpoint lists", ErrUnknownName, name, len(known))
	}
	payload, err := json.Marshal(map[string]string{"updateState": string(action)})
	if err != nil {
		return "", err
	}
	status, body, err := a.do(ctx, http.MethodPost, a.base+"/circuitbreakers/"+url.PathEscape(name), payload)
	if err != nil {
		return "", err
	}
	if err := a.changeStatusError(status, body); err != nil {
		return "", err
	}
	var resp struct {
		CurrentState string `json:"currentState"`
	}
	// A 2xx without a JSON body still means the request was accepted; the
	// state is then unreported and later scrapes confirm it.
	_ = json.Unmarshal(body, &resp)
	return resp.CurrentState, nil
}

// do sends one request and reads at most maxBody bytes of the answer.
func (a *Actuator) do(ctx context.Context, method, target string, payload []byte) (int, []byte, error) {
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return 0, nil, fmt.Errorf("admin endpoint: bad URL: %v", err)
	}
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	change := method != http.MethodGet
	resp, err := a.client.Do(req)
	if err != nil {
		return 0, nil, a.transportError(ctx, err, change)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return 0, nil, a.transportError(ctx, err, change)
	}
	if len(body) > maxBody {
		return 0, nil, fmt.Errorf("admin endpoint: response larger than %d bytes", maxBody)
	}
	return resp.StatusCode, body, nil
}

// transportError reports a timeout as the context's error (the call may or
// may not have taken effect: "outcome unknown") and anything else in plain
// words, with the token scrubbed. For a change (a POST) a failure after the
// connection was made, such as a cut connection, wraps ErrOutcomeUnknown:
// the request may have been read and applied. Only a connection never made
// says that it was not.
func (a *Actuator) transportError(ctx context.Context, err error, change bool) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return context.DeadlineExceeded
	}
	msg := "admin endpoint: " + a.scrub(err.Error())
	var op *net.OpError
	if change && !(errors.As(err, &op) && op.Op == "dial") {
		return fmt.Errorf("%s: %w", msg, ErrOutcomeUnknown)
	}
	return errors.New(msg)
}

// changeStatusError maps the status of an answer to a change: as
// statusError, except that a 5xx, from the service or from a gateway in
// front of it, does not say the change was not made (ErrOutcomeUnknown).
func (a *Actuator) changeStatusError(status int, body []byte) error {
	err := a.statusError(status, body)
	if status >= 500 {
		return fmt.Errorf("%w: %w", err, ErrOutcomeUnknown)
	}
	return err
}

// statusError maps an HTTP status to the package's errors.
func (a *Actuator) statusError(status int, body []byte) error {
	switch {
	case status >= 200 && status < 300:
		return nil
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return ErrUnauthorized
	case status == http.StatusNotFound:
		return ErrUnknownName
	case status == http.StatusBadRequest:
		return fmt.Errorf("admin endpoint rejected the request: %s", a.scrub(serverMessage(body)))
	default:
		return fmt.Errorf("admin endpoint answered HTTP %d %s: %s", status, http.StatusText(status), a.scrub(serverMessage(body)))
	}
}

// scrub removes the token from text that goes into an error.
func (a *Actuator) scrub(s string) string {
	if a.token == "" {
		return s
	}
	return strings.ReplaceAll(s, a.token, "[token]")
}

// serverMessage extracts the human part of an error body: Spring's "message"
// or "error" field, else the trimmed text, shortened to one line.
func serverMessage(body []byte) string {
	var doc struct {
		Message string `json:"message"`
		Error   string `json:"error"`
	}
	msg := ""
	if json.Unmarshal(body, &doc) == nil {
		msg = doc.Message
		if msg == "" {
			msg = doc.Error
		}
	}
	if msg == "" {
		msg = string(body)
	}
	msg = strings.Join(strings.Fields(msg), " ")
	const maxLen = 200
	if r := []rune(msg); len(r) > maxLen {
		msg = string(r[:maxLen]) + "…"
	}
	if msg == "" {
		msg = "(no message)"
	}
	return msg
}
